import { env } from '@orgmesh/config';
import type { RetentionTarget } from '@orgmesh/persistence';
import { DEFAULT_STREAM_MAX_AGE_MS } from './stream-provisioning.js';

/**
 * How long a consumer's dedupe record (`processed_events`, written by `processOnce`) must be kept.
 * A record exists only for an event whose work committed; the only way the same event id comes
 * back is a redelivery of that very message (its ack was lost, or the consumer stopped before
 * acking) or the outbox relay publishing a row again that it published but did not mark. JetStream
 * delivers a message only while its stream holds it, at most the stream's `max_age` (7 days,
 * DEFAULT_STREAM_MAX_AGE_MS) after it was stored; a re-publish lands in the stream again, but within
 * its duplicate window (10 minutes) it is dropped there. So a record older than the stream's max
 * age plus a margin can no longer match anything the consumer will be given: a shorter retention
 * is refused, since it would turn a late redelivery into a second side effect.
 */
export const MIN_PROCESSED_EVENTS_RETENTION_MS = DEFAULT_STREAM_MAX_AGE_MS;

/** The retention keys of the messaging tables every service schema has; each service spreads them into its config. */
export const MESSAGING_RETENTION_ENV = {
  /** Dedupe records (processed_events) older than this are deleted; at least the streams' 7d max age; 0 keeps them. */
  PROCESSED_EVENTS_RETENTION: env
    .duration('8d')
    .refine((ms) => ms === 0 || ms >= MIN_PROCESSED_EVENTS_RETENTION_MS, {
      message: 'must be 0 (keep) or at least 7d, the max age of the JetStream streams a redelivery can come from',
    }),
  /** Outbox rows published longer ago than this are deleted by the relay; 0 keeps them. */
  OUTBOX_RETENTION: env.duration('24h'),
};

/** The retention target of a schema's dedupe table (by `processed_events_processed_at_idx`). */
export function processedEventsRetention(schema: string, maxAgeMs: number): RetentionTarget {
  return { name: `${schema}.processed_events`, table: `${schema}.processed_events`, ageColumn: 'processed_at', maxAgeMs };
}
