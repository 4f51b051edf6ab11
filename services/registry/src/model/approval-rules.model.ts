import { z } from 'zod';
import { APPROVAL_RULE_OPS, ApproverSpec, ProfileId, RoleId, type ApprovalRule } from '@orgmesh/contracts';

/** `90s`, `10m`, `2h`, `1d` → milliseconds (approval step times). */
const Duration = z
  .string()
  .regex(/^[1-9][0-9]{0,6}(?:s|m|h|d)$/, { error: 'expected a duration such as 90s, 10m, 2h or 1d' })
  .transform((d) => Number(d.slice(0, -1)) * UNIT_MS[d.slice(-1) as keyof typeof UNIT_MS]);
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * `approvals:` of a profile file (issue 23, ADR 0019): rules the mesh applies to approvals addressed
 * to the role, snake_case in YAML, camelCase in the model (ApprovalRule in libs/contracts).
 */
export const ApprovalRulesFileSchema = z.array(
  z
    .strictObject({
      id: ProfileId,
      from: z.array(RoleId).optional(),
      when: z
        .strictObject({ field: z.string().min(1).max(200), op: z.enum(APPROVAL_RULE_OPS), value: z.number() })
        .optional(),
      agent_first: Duration.optional(),
      approvers: z.array(ApproverSpec).min(1).max(20),
      quorum: z.number().int().positive().max(20).default(1),
      step_deadline: Duration,
      escalate: z.enum(['reporting-line', 'none']).default('reporting-line'),
      on_chain_end: z.literal('deny').default('deny'),
    })
    .refine((r) => r.quorum <= r.approvers.length, {
      error: 'quorum exceeds the number of approvers',
      path: ['quorum'],
    })
    .transform(
      (r): ApprovalRule => ({
        id: r.id,
        ...(r.from ? { from: r.from } : {}),
        ...(r.when ? { when: r.when } : {}),
        ...(r.agent_first ? { agentFirstMs: r.agent_first } : {}),
        approvers: r.approvers,
        quorum: r.quorum,
        stepDeadlineMs: r.step_deadline,
        escalate: r.escalate,
        onChainEnd: r.on_chain_end,
      }),
    ),
);
