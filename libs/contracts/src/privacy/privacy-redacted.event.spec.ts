import { describe, expect, it } from '@jest/globals';
import { PrivacyRedacted } from './privacy-redacted.event.js';

const valid = {
  eventId: '0b0f6c1e-54a4-4c57-9a57-1b7e1c2a9e11',
  role: 'finance',
  agentId: 'finance-agent',
  sessionId: 'sess-1',
  tenant: 'acme',
  mode: 'mask',
  outcome: 'masked',
  counts: { email: 2, 'case-ref': 1 },
  maskedCounts: { email: 2 },
  endpoint: 'openai.chat.completions',
  occurredAt: '2026-01-01T10:00:00.000Z',
};

describe('privacy.v1.redacted', () => {
  it('is an event of the privacy context', () => {
    expect(PrivacyRedacted.subject).toBe('privacy.v1.redacted');
    expect(PrivacyRedacted.context).toBe('privacy');
  });

  it('accepts counts per entity type, including custom pattern names', () => {
    expect(PrivacyRedacted.schema.parse(valid)).toEqual(valid);
  });

  it('has no place for values: counts are positive integers, unknown modes and outcomes are refused', () => {
    expect(
      PrivacyRedacted.schema.safeParse({ ...valid, counts: { email: 'jane@example.com' } }).success,
    ).toBe(false);
    expect(PrivacyRedacted.schema.safeParse({ ...valid, counts: { email: 0 } }).success).toBe(false);
    expect(PrivacyRedacted.schema.safeParse({ ...valid, outcome: 'leaked' }).success).toBe(false);
    expect(PrivacyRedacted.schema.safeParse({ ...valid, mode: 'hide' }).success).toBe(false);
  });

  it('says what went out raw, what refused the request and what went out unscanned (issue 19)', () => {
    const honest = {
      ...valid,
      outcome: 'partially_masked',
      passedCounts: { ssn: 1 },
      refusedCounts: {},
      unscanned: { 'image/png': 2 },
    };
    expect(PrivacyRedacted.schema.parse(honest)).toEqual(honest);
    const refused = { ...valid, outcome: 'refused', refusal: 'binary_content', maskedCounts: {} };
    expect(PrivacyRedacted.schema.parse(refused)).toEqual(refused);
    expect(PrivacyRedacted.schema.safeParse({ ...refused, refusal: 'because' }).success).toBe(false);
    expect(PrivacyRedacted.schema.safeParse({ ...valid, passedCounts: { ssn: '512-44-7391' } }).success).toBe(false);
  });
});
