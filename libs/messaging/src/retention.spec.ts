import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { DEFAULT_STREAM_MAX_AGE_MS } from './stream-provisioning.js';
import { MESSAGING_RETENTION_ENV, MIN_PROCESSED_EVENTS_RETENTION_MS, processedEventsRetention } from './retention.js';

const schema = z.object(MESSAGING_RETENTION_ENV);
const DAY = 86_400_000;

describe('messaging retention keys', () => {
  it('defaults to 8 days of dedupe records and 24 hours of published outbox rows', () => {
    expect(schema.parse({})).toEqual({ PROCESSED_EVENTS_RETENTION: 8 * DAY, OUTBOX_RETENTION: DAY });
  });

  it('refuses dedupe retention shorter than the streams keep a message, which would let a late redelivery run twice', () => {
    expect(MIN_PROCESSED_EVENTS_RETENTION_MS).toBe(DEFAULT_STREAM_MAX_AGE_MS);
    expect(schema.safeParse({ PROCESSED_EVENTS_RETENTION: '6d' }).success).toBe(false);
    expect(schema.safeParse({ PROCESSED_EVENTS_RETENTION: '167h' }).success).toBe(false);
    expect(schema.parse({ PROCESSED_EVENTS_RETENTION: '7d' }).PROCESSED_EVENTS_RETENTION).toBe(7 * DAY);
    expect(schema.parse({ PROCESSED_EVENTS_RETENTION: '0' }).PROCESSED_EVENTS_RETENTION).toBe(0);
  });

  it('wants a unit on every duration', () => {
    expect(schema.safeParse({ OUTBOX_RETENTION: '3600' }).success).toBe(false);
    expect(schema.parse({ OUTBOX_RETENTION: '2h' }).OUTBOX_RETENTION).toBe(2 * 3_600_000);
  });

  it('targets the schema dedupe table by its age column', () => {
    expect(processedEventsRetention('mesh', DAY)).toEqual({
      name: 'mesh.processed_events',
      table: 'mesh.processed_events',
      ageColumn: 'processed_at',
      maxAgeMs: DAY,
    });
  });
});
