import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { ApprovalDecision, Task } from './task.schema.js';

/** A person of the org chart on an approval's path. */
export const ApprovalPerson = z.object({
  userId: z.string().min(1),
  name: z.string().nullable(),
  role: z.string().nullable(),
});
export type ApprovalPerson = z.infer<typeof ApprovalPerson>;

/**
 * One step of an approval's path (ADR 0019): the addressed role's agents (`agent`), or people, of
 * whom `quorum` must approve, each step with its own time to decide.
 */
export const ApprovalStep = z.object({
  kind: z.enum(['agent', 'people']),
  approvers: z.array(ApprovalPerson),
  quorum: z.number().int().positive(),
  deadlineMs: z.number().int().positive(),
});
export type ApprovalStep = z.infer<typeof ApprovalStep>;

/** A decision a person made on an approval: who, on whose behalf (delegation), when, the comment and the rule. */
export const PersonDecision = z.object({
  userId: z.string(),
  onBehalfOf: z.string().nullable(),
  step: z.number().int().nonnegative(),
  decision: ApprovalDecision,
  comment: z.string().nullable(),
  rule: z.string(),
  decidedAt: Timestamp,
});
export type PersonDecision = z.infer<typeof PersonDecision>;

export const APPROVAL_ROUTE_STATUSES = ['open', 'decided', 'ended'] as const;

/** An approval routed to people, as the console shows it: the request, where it waits, what happens next. */
export const PersonApproval = z.object({
  task: Task,
  /** The profile rule (`<profile>#<rule>`) or `request` when the requesting agent named the approver. */
  rule: z.string(),
  status: z.enum(APPROVAL_ROUTE_STATUSES),
  /** The index in `steps` of the step now waiting. */
  step: z.number().int().nonnegative(),
  /** When the waiting step escalates (or, at the last step, the chain ends in a denial). */
  stepDeadline: Timestamp,
  steps: z.array(ApprovalStep),
  /** Who must decide now: the waiting step's people who have not decided yet. */
  awaiting: z.array(ApprovalPerson),
  /** The people after the waiting step, nearest first (the escalation path). */
  escalationPath: z.array(ApprovalPerson),
  decisions: z.array(PersonDecision),
  /** For `awaiting=me` through a delegation: the person the caller decides for. */
  onBehalfOf: z.string().nullable(),
});
export type PersonApproval = z.infer<typeof PersonApproval>;
