import { z } from 'zod';

/**
 * LLM governance of a role profile (issue 24), enforced by the privacy proxy on every model call:
 * budgets per window, rate limits per minute and what happens when the shared budget store cannot be
 * reached. The profile's `providers` list is the model policy (which providers and models it may call).
 *
 * Kept in its own file and referenced by one optional key of `RoleProfile` (`llm`): a profile without
 * it keeps the content (and signature) it had before.
 */

/** Who a budget or a limit counts: each agent (token subject) on its own, or the whole role together. */
export const LLM_GOVERNANCE_SCOPES = ['agent', 'role'] as const;
export const LlmGovernanceScope = z.enum(LLM_GOVERNANCE_SCOPES);
export type LlmGovernanceScope = z.infer<typeof LlmGovernanceScope>;

export const LLM_BUDGET_WINDOWS = ['day', 'week', 'month'] as const;
/**
 * `calendar`: the UTC day, the ISO week from Monday 00:00 UTC, the calendar month; usage resets at its
 * start. `rolling`: the last 24 hours, 7 days or 30 days, moving by the hour.
 */
export const LLM_BUDGET_RESETS = ['calendar', 'rolling'] as const;

const budgetName = z
  .string()
  .min(2)
  .max(64)
  .regex(/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/, { error: 'must be kebab-case' });

export const LlmBudget = z
  .object({
    /** Names the budget in refusals, warnings and metrics, e.g. `agent-daily-tokens`. */
    name: budgetName,
    per: LlmGovernanceScope,
    /** Input plus output tokens in the window; exactly one of `tokens` and `costUsd`. */
    tokens: z.number().int().positive().optional(),
    /** Cost in US dollars by the proxy's price table. */
    costUsd: z.number().positive().optional(),
    window: z.enum(LLM_BUDGET_WINDOWS),
    reset: z.enum(LLM_BUDGET_RESETS),
    /** Fraction of the limit at which a `privacy.v1.budget-warning` event is emitted once per window; default 0.8. */
    warnAt: z.number().gt(0).lt(1).optional(),
  })
  .refine((b) => (b.tokens === undefined) !== (b.costUsd === undefined), {
    error: 'a budget limits exactly one of tokens and costUsd',
  });
export type LlmBudget = z.infer<typeof LlmBudget>;

export const LlmRateLimit = z
  .object({
    per: LlmGovernanceScope,
    requestsPerMinute: z.number().int().positive().optional(),
    /** Input plus output tokens per minute (an estimate before the call, settled on the real usage). */
    tokensPerMinute: z.number().int().positive().optional(),
  })
  .refine((r) => r.requestsPerMinute !== undefined || r.tokensPerMinute !== undefined, {
    error: 'a rate limit sets requestsPerMinute, tokensPerMinute or both',
  });
export type LlmRateLimit = z.infer<typeof LlmRateLimit>;

export const LlmGovernance = z.object({
  budgets: z.array(LlmBudget).max(32).optional(),
  rateLimits: z.array(LlmRateLimit).max(8).optional(),
  /**
   * The shared budget store cannot be reached: `refuse` (default, fail closed: 503) or `allow` (the
   * call goes on, counted locally and written when the store is back).
   */
  onStoreUnavailable: z.enum(['refuse', 'allow']).optional(),
});
export type LlmGovernance = z.infer<typeof LlmGovernance>;
