import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { defineEvent } from '../define.js';
import { LLM_BUDGET_RESETS, LLM_BUDGET_WINDOWS, LlmGovernanceScope } from './llm-governance.js';

export const PrivacyBudgetWarning = defineEvent({
  subject: 'privacy.v1.budget-warning',
  description:
    "An agent's or a role's LLM usage crossed the warning threshold of a budget its profile declares " +
    '(issue 24). Once per budget, subject and window across all proxy replicas. Counts and limits only.',
  schema: z.object({
    /** Unique per budget, subject and window: the NATS `Nats-Msg-Id`, so a replay is deduplicated. */
    eventId: z.string().min(1).max(300),
    tenant: z.string().min(1),
    role: z.string().min(1),
    /** Set when `per` is `agent`. */
    agentId: z.string().min(1).optional(),
    profileId: z.string().min(1).optional(),
    budget: z.string().min(1),
    per: LlmGovernanceScope,
    window: z.enum(LLM_BUDGET_WINDOWS),
    reset: z.enum(LLM_BUDGET_RESETS),
    windowStart: Timestamp,
    unit: z.enum(['tokens', 'usd']),
    limit: z.number().positive(),
    used: z.number().nonnegative(),
    warnAt: z.number().gt(0).lt(1),
    occurredAt: Timestamp,
  }),
});
export type PrivacyBudgetWarningPayload = z.infer<typeof PrivacyBudgetWarning.schema>;

/**
 * The mesh notification a budget warning becomes (issue 24 item 2, ADR 0016): `system` notifies the
 * role of the manager of the person heading the warned agent's or role's line. `Task.type` is
 * `BUDGET_WARNING_NOTIFICATION_TYPE`; `Task.details` is this object — ids, counts and limits only,
 * never prompt content or a person's name.
 */
export const BUDGET_WARNING_NOTIFICATION_TYPE = 'llm.budget-warning';
export const BudgetWarningNotificationDetails = PrivacyBudgetWarning.schema
  .pick({
    eventId: true,
    tenant: true,
    role: true,
    agentId: true,
    profileId: true,
    budget: true,
    per: true,
    window: true,
    reset: true,
    windowStart: true,
    unit: true,
    limit: true,
    used: true,
    warnAt: true,
  })
  .extend({
    /** `used / limit` in percent, one decimal. */
    percentUsed: z.number().nonnegative(),
    /** The org-chart manager notified, by id: their user id and the role whose inbox got it. */
    manager: z.object({ userId: z.string().min(1), role: z.string().min(1) }),
  });
export type BudgetWarningNotificationDetails = z.infer<typeof BudgetWarningNotificationDetails>;
