import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { defineRpc } from '../define.js';
import { safeText } from '../safe-input.js';

/** A filter value: no NUL, no lone surrogate (ADR 0008). */
const id = safeText(z.string().min(1).max(200));
const count = z.number().int().nonnegative();

/** How the counts are grouped in time: UTC hours or UTC days. */
export const REDACTION_BUCKETS = ['hour', 'day'] as const;

/**
 * What the role's profile did with the findings of one entity type, as the audit
 * (`privacy.v1.redacted`) distinguishes it: replaced by placeholders, let out as they were (the
 * `detect` action), or refused the request (`strict`).
 */
export const REDACTION_ACTIONS = ['masked', 'passed', 'refused'] as const;

/** One bucket of one role's findings of one entity type. Counts only: never values, placeholders or text. */
export const RedactionRow = z.object({
  /** Start of the hour or day (UTC). */
  bucket: Timestamp,
  role: z.string(),
  /** A built-in type (`email`, `ssn`, …) or the name of a profile's custom pattern. */
  entityType: z.string(),
  masked: count,
  passed: count,
  refused: count,
});
export type RedactionRow = z.infer<typeof RedactionRow>;

export const GetRedactions = defineRpc({
  subject: 'rpc.privacy.v1.get-redactions',
  description:
    'How many values the privacy proxy masked, let through by policy or refused, per hour or day, role and entity ' +
    "type (issues 23 and 24). Counts only. The caller's forwarded token decides: an admin or a viewer reads its " +
    "tenant, an agent its own role's counts only; a person's sign-in is refused.",
  request: z.object({
    role: id.optional(),
    entityType: id.optional(),
    /** From (inclusive, rounded down to its bucket); default 24 hours before `to`. */
    from: Timestamp.optional(),
    /** Up to (inclusive); default now. */
    to: Timestamp.optional(),
    bucket: z.enum(REDACTION_BUCKETS).default('hour'),
    limit: z.number().int().min(1).max(5000).default(1000),
  }),
  response: z.object({
    /** Newest bucket first, then role and entity type. */
    rows: z.array(RedactionRow),
    /** Sums over `rows`. */
    totals: z.object({ masked: count, passed: count, refused: count }),
    from: Timestamp,
    to: Timestamp,
    bucket: z.enum(REDACTION_BUCKETS),
    /** More rows matched than `limit`: narrow the filters or the time range. */
    truncated: z.boolean(),
  }),
});
