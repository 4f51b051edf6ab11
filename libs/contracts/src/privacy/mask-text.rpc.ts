import { z } from 'zod';
import { defineRpc } from '../define.js';
import { ContextId } from '../mesh/context-id.js';
import { safeText } from '../safe-input.js';

/** Counts per entity type, never values. */
const Counts = z.record(z.string(), z.number().int().nonnegative());

/**
 * Texts an agent sends outside orgmesh by another way than a model call — a bridge's task input to
 * a remote A2A agent (ADR 0021) — masked by the privacy proxy as a model call of the caller's role
 * would be: the same profile (strict types refuse with `privacy_strict_refused`), the same
 * placeholders within the workflow's pseudonym scope. The restore mapping is not kept by the proxy:
 * `handle` is it, sealed (AES-GCM under the proxy's key, bound to the caller and an expiry), and
 * only `rpc.privacy.v1.restore-text` by the same caller opens it.
 */
export const MaskText = defineRpc({
  subject: 'rpc.privacy.v1.mask-text',
  description:
    "Masks texts an agent sends outside orgmesh (not a model call) by its role's privacy profile; answers the masked texts " +
    'and a sealed restore handle. Strict entity types refuse (privacy_strict_refused). The token decides the profile.',
  request: z.object({
    /** Scanned together, in order, as the texts of one model request (a value split across two is found). */
    texts: z.array(safeText(z.string().max(1_000_000))).max(10_000),
    /** The workflow, which scopes the placeholders as `x-orgmesh-context-id` does for model calls. */
    contextId: ContextId.optional(),
    /** How long the handle may be used; default a day, at most a week. */
    ttlSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 86_400)
      .optional(),
  }),
  response: z.object({
    texts: z.array(z.string()),
    /** Null when nothing was masked (nothing to restore). */
    handle: z.string().nullable(),
    /** Values found, and those replaced by placeholders, per entity type. */
    counts: Counts,
    masked: Counts,
  }),
});
