import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { defineEvent } from '../define.js';

/**
 * What the proxy did with a request, after applying the role profile: `masked` (every finding masked),
 * `partially_masked` (some masked, some let through by policy), `detected` (findings let through by
 * policy, none masked), `unscanned` (nothing found, but binary content went out unscanned by policy),
 * `refused` (nothing forwarded).
 */
export const PRIVACY_OUTCOMES = ['masked', 'partially_masked', 'detected', 'unscanned', 'refused'] as const;

/** Why a request was refused: strict entities, binary content, unknown fields, or a value no placeholder fits. */
export const PRIVACY_REFUSALS = ['entities', 'binary_content', 'unknown_fields', 'unmaskable_value'] as const;

/**
 * Counts of detected personal data per entity type (built-in types such as `email`, `ssn`, or the name
 * of a profile's custom pattern). Never values.
 */
export const PrivacyEntityCounts = z.record(z.string().min(1).max(64), z.number().int().positive());

export const PrivacyRedacted = defineEvent({
  subject: 'privacy.v1.redacted',
  description:
    'The privacy proxy found personal data in a request to a model provider. Counts per entity type, never values, ' +
    'bodies or tokens. Published for every request with at least one finding, unscanned binary part or refusal.',
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
    /** Findings that left the proxy as they were, by the profile's `detect` action. */
    passedCounts: PrivacyEntityCounts.optional(),
    /** Findings whose `strict` action refused the request. */
    refusedCounts: PrivacyEntityCounts.optional(),
    /** Binary parts forwarded unscanned (profile `binary: allow`), by media type (`other` if unlisted). */
    unscanned: PrivacyEntityCounts.optional(),
    /** Set when `outcome` is `refused`. */
    refusal: z.enum(PRIVACY_REFUSALS).optional(),
    /** The provider API that was called, e.g. `openai.chat.completions`, `anthropic.messages`. */
    endpoint: z.string().min(1),
    occurredAt: Timestamp,
  }),
});
export type PrivacyRedactedPayload = z.infer<typeof PrivacyRedacted.schema>;
