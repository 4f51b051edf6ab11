import { z } from 'zod';

/**
 * Who an approval goes to when a person decides it (issue 23, ADR 0019):
 * - `user:<userId>` (or a bare user id): that person of the org chart;
 * - `manager-of:requester`: the manager of the person who owns the requesting agent (the head of its role);
 * - `manager-of:<userId | agentId | roleId>`: that person's manager (an agent or a role by the head of its role);
 * - `head-of:<roleId>`: the person heading that role in the org chart; `head-of:<department>` (any
 *   other name): the head of that department anywhere in the org chart, its topmost person
 *   (rpc.registry.v1.get-department-head); a department nobody is in is skipped at planning, audited.
 * A role id (as `to` names it today) is not written here: the approval's `to` names it.
 */
// A department name may hold spaces (`head-of:Human Resources`); ids never do.
export const APPROVER_SPEC =
  /^(?:(?:user:|manager-of:)?[A-Za-z0-9][A-Za-z0-9._@-]{0,99}|head-of:[A-Za-z0-9](?:[A-Za-z0-9 ._@&-]{0,98}[A-Za-z0-9._@&-])?)$/;
export const ApproverSpec = z
  .string()
  .min(1)
  .max(112)
  .regex(APPROVER_SPEC, {
    error:
      'expected a user id, user:<id>, manager-of:<requester|user|agent|role> or head-of:<role|department>',
  })
  .describe(
    'A person (user id or user:<id>), manager-of:<requester|user|agent|role>, or head-of:<role|department>.',
  );
export type ApproverSpec = z.infer<typeof ApproverSpec>;

/** Comparisons a rule's threshold may make on a numeric field of the approval's details. */
export const APPROVAL_RULE_OPS = ['>', '>=', '<', '<=', '=='] as const;

/**
 * An approval rule of a role profile: the mesh applies it to every approval addressed to the role
 * (from the roles in `from`, when `when` holds), whatever the requesting agent asked. The first rule
 * that matches, in the profile's order, applies: write the highest threshold first.
 */
export const ApprovalRule = z.object({
  id: z
    .string()
    .min(2)
    .max(64)
    .regex(/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/),
  /** Requesting roles the rule applies to; absent: every role. */
  from: z.array(z.string().min(1).max(64)).optional(),
  /** A threshold on a numeric field of the request's details (dotted path), e.g. amount > 10000. */
  when: z
    .object({ field: z.string().min(1).max(200), op: z.enum(APPROVAL_RULE_OPS), value: z.number() })
    .optional(),
  /**
   * The addressed role's agents decide first, for this long; when it passes undecided the approval
   * goes to the people below. Absent: people only, from the start.
   */
  agentFirstMs: z.number().int().positive().optional(),
  /** The first people asked (each spec may resolve to one person). */
  approvers: z.array(ApproverSpec).min(1).max(20),
  /** How many of `approvers` must approve (n of m); 1 by default. */
  quorum: z.number().int().positive().max(20),
  /** How long each step (the first people, then each person up the line) has to decide. */
  stepDeadlineMs: z.number().int().positive(),
  /** When a step's deadline passes: `reporting-line` (the next manager up) or `none`. */
  escalate: z.enum(['reporting-line', 'none']),
  /** The outcome when the chain ends undecided: the approval is rejected by the mesh, audited. */
  onChainEnd: z.literal('deny'),
});
export type ApprovalRule = z.infer<typeof ApprovalRule>;
