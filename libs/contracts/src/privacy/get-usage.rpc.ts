import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { defineRpc } from '../define.js';
import { MODEL_PROVIDERS } from '../registry/registry.schema.js';
import { safeText } from '../safe-input.js';

/** A filter value: no NUL, no lone surrogate (ADR 0008). */
const id = safeText(z.string().min(1).max(200));

/** One hour of one agent's model calls with one provider and model, in one session and workflow. */
export const LlmUsageRow = z.object({
  /** Start of the hour (UTC). */
  hour: Timestamp,
  agentId: z.string(),
  role: z.string(),
  /** The registry profile the calls ran under; '' for profiles from a file or the fallback. */
  profileId: z.string(),
  /** `x-orgmesh-session-id` of the calls, '' without one. */
  sessionId: z.string(),
  /** `x-orgmesh-context-id` (the workflow), '' without one. */
  workflowId: z.string(),
  provider: z.string(),
  model: z.string(),
  requests: z.number().int().nonnegative(),
  /** Cache reads and writes included. */
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cachedInputTokens: z.number().int().nonnegative(),
  /** By the proxy's price table; 0 for models it does not price. */
  costUsd: z.number().nonnegative(),
  /** Calls whose answer carried no usage: counted by the tokenizer. */
  estimatedRequests: z.number().int().nonnegative(),
});
export type LlmUsageRow = z.infer<typeof LlmUsageRow>;

export const GetUsage = defineRpc({
  subject: 'rpc.privacy.v1.get-usage',
  description:
    "LLM usage the privacy proxy recorded, per hour and agent, role, session, workflow, provider and model (issue 24). The caller's " +
    'forwarded token decides: an admin reads its tenant, an agent only its own calls.',
  request: z.object({
    agentId: id.optional(),
    role: id.optional(),
    model: id.optional(),
    provider: z.enum(MODEL_PROVIDERS).optional(),
    /** Hours from (inclusive); default 24 hours before `to`. */
    from: Timestamp.optional(),
    /** Hours up to (inclusive); default now. */
    to: Timestamp.optional(),
    limit: z.number().int().min(1).max(1000).default(100),
  }),
  response: z.object({
    rows: z.array(LlmUsageRow),
    /** Sums over `rows`. */
    totals: z.object({
      requests: z.number().int().nonnegative(),
      inputTokens: z.number().int().nonnegative(),
      outputTokens: z.number().int().nonnegative(),
      costUsd: z.number().nonnegative(),
    }),
    from: Timestamp,
    to: Timestamp,
    /** More rows matched than `limit`: narrow the filters or the time range. */
    truncated: z.boolean(),
  }),
});
