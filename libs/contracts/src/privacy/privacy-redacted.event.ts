import { z } from 'zod';
import { defineEvent } from '../define.js';

/** What the proxy did with a request, after applying the role profile. */
export const PRIVACY_OUTCOMES = ['masked', 'detected', 'refused'] as const;

/**
 * Counts of detected personal data per entity type (built-in types such as `email`, `ssn`, or the name
 * of a profile's custom pattern). Never values.
 */
export const PrivacyEntityCounts = z.record(z.string().min(1).max(64), z.number().int().positive());

export const PrivacyRedacted = defineEvent({
  subject: 'privacy.v1.redacted',
  description:
    'The privacy proxy found personal data in a request to a model provider. Counts per entity type, never values, ' +
    'bodies or tokens. Published for every request with at least one finding.',
  schema: z.object({
    /** Unique per event; the NATS `Nats-Msg-Id`. */
    eventId: z.uuid(),
    role: z.string().min(1),
    agentId: z.string().min(1),
    sessionId: z.string().min(1).max(200).optional(),
    tenant: z.string().min(1),
    /** The profile's mode (per-entity overrides are reflected in `outcome` and the counts). */
    mode: z.enum(['off', 'detect', 'mask', 'strict']),
    outcome: z.enum(PRIVACY_OUTCOMES),
    /** Every finding whose action is not `off`. */
    counts: PrivacyEntityCounts,
    /** Findings replaced by placeholders before the request left the proxy. */
    maskedCounts: PrivacyEntityCounts,
    /** The provider API that was called, e.g. `openai.chat.completions`, `anthropic.messages`. */
    endpoint: z.string().min(1),
    occurredAt: z.iso.datetime({ offset: true }),
  }),
});
export type PrivacyRedactedPayload = z.infer<typeof PrivacyRedacted.schema>;
