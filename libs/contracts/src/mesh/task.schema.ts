import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { AgentId, AgentOrRole, POLICY_KINDS, PolicyKind, RoleId } from '../registry/registry.schema.js';
import { ContextId } from './context-id.js';

/** Task states, as A2A v1.0 names them. */
export const TASK_STATES = [
  'submitted',
  'working',
  'input-required',
  'completed',
  'failed',
  'canceled',
  'rejected',
] as const;
export const TaskState = z.enum(TASK_STATES);
export type TaskState = z.infer<typeof TaskState>;

/** States that accept no further change. */
export const TERMINAL_TASK_STATES: readonly TaskState[] = ['completed', 'failed', 'canceled', 'rejected'];

/** The kinds of mesh message: one list with what the registry's policy decides on (POLICY_KINDS). */
export const TASK_KINDS = POLICY_KINDS;
export const TaskKind = PolicyKind;
export type TaskKind = PolicyKind;

export const TASK_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export const TaskPriority = z.enum(TASK_PRIORITIES);
export type TaskPriority = z.infer<typeof TaskPriority>;

/**
 * Events of the task state machine. `expire` is the deadline job's; `decide` exists only for
 * approvals and `complete` only for tasks and notifications.
 */
export const TASK_FSM_EVENTS = [
  'start',
  'require-input',
  'complete',
  'decide',
  'fail',
  'reject',
  'cancel',
  'expire',
] as const;
export const TaskFsmEvent = z.enum(TASK_FSM_EVENTS);
export type TaskFsmEvent = z.infer<typeof TaskFsmEvent>;

/** Every entry of a task's history: its creation, each FSM event applied, an escalation, and input its sender added. */
export const TASK_HISTORY_EVENTS = ['create', ...TASK_FSM_EVENTS, 'escalate', 'input'] as const;
export const TaskHistoryEvent = z.enum(TASK_HISTORY_EVENTS);
export type TaskHistoryEvent = z.infer<typeof TaskHistoryEvent>;

/** `reason` of a task the mesh itself failed. */
export const TASK_FAILURE_REASONS = {
  undeliverable: 'undeliverable',
  deadlineExceeded: 'deadline_exceeded',
} as const;

/** Who sent a task: the verified token's subject and role, never the payload's. */
export const TaskSender = z.object({ agentId: z.string().min(1).max(200), role: z.string().min(1).max(100) });
export type TaskSender = z.infer<typeof TaskSender>;

/**
 * Where a task goes, as the mesh resolved it against the registry: a role's inbox (`agentId` null),
 * or one agent, with the role that agent acts for. Policy was evaluated for exactly this value.
 */
export const TaskRecipient = z
  .object({ role: RoleId, agentId: AgentId.nullable() })
  .describe('The resolved recipient: a role (agentId null) or one agent with its role.');
export type TaskRecipient = z.infer<typeof TaskRecipient>;

/**
 * The object form of a recipient: `{role}` (any agent of the role), `{agentId}` (that agent), or
 * both (the agent must act for that role). Strict, so a misspelt key (`agent_id`) is refused rather
 * than silently widening the address to the whole role.
 */
const RecipientObject = z
  .strictObject({
    role: RoleId.optional().describe('A role id: any agent of the role may take it.'),
    agentId: AgentId.optional().describe('An agent id: only that agent may take it.'),
  })
  .refine((to) => to.role !== undefined || to.agentId !== undefined, {
    error: 'name a role, an agent, or both',
  })
  .meta({ minProperties: 1 });

/**
 * How a caller names a recipient. A bare string is an agent id or a role id (the registry keeps
 * the two namespaces disjoint) and is resolved against the registry; the task stores what it
 * resolved to (see TaskRecipient). A string that names neither is refused.
 */
export const RecipientInput = z
  .union([AgentOrRole, RecipientObject])
  .describe(
    'The recipient: an agent id or a role id (resolved against the registry), or {role}, {agentId}, ' +
      'or {role, agentId} (the agent must act for that role). Neither an agent nor a role → 400 validation_failed.',
  );
export type RecipientInput = z.infer<typeof RecipientInput>;

export const APPROVAL_DECISIONS = ['approve', 'reject'] as const;
export const ApprovalDecision = z.enum(APPROVAL_DECISIONS);
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

export const TaskDecision = z.object({
  decision: ApprovalDecision,
  comment: z.string().nullable(),
  decidedBy: TaskSender,
  decidedAt: Timestamp,
});
export type TaskDecision = z.infer<typeof TaskDecision>;

/** The org-chart person an undecided approval was escalated to (the approver's manager). */
export const TaskEscalation = z.object({
  userId: z.string().min(1),
  role: RoleId,
  name: z.string().nullable(),
});
export type TaskEscalation = z.infer<typeof TaskEscalation>;

export const TaskHistoryEntry = z.object({
  seq: z.number().int().positive(),
  event: TaskHistoryEvent,
  from: TaskState.nullable(),
  to: TaskState,
  /** The token subject that caused it, or `system`. */
  actor: z.string(),
  reason: z.string().nullable(),
  occurredAt: Timestamp,
});
export type TaskHistoryEntry = z.infer<typeof TaskHistoryEntry>;

/** A task, approval or notification as every consumer sees it (RPC replies, events, inbox deliveries). */
export const Task = z.object({
  id: z.uuid(),
  kind: TaskKind,
  from: TaskSender,
  to: TaskRecipient,
  /** The agent that took it (its first update), or null while nobody has. */
  assignee: TaskSender.nullable(),
  /** A task's type, e.g. `sox-review`; null for approvals and notifications. */
  type: z.string().nullable(),
  /** An approval's subject line; null otherwise. */
  subject: z.string().nullable(),
  /** A task's input. */
  input: z.json().nullable(),
  /** An approval's details. */
  details: z.json().nullable(),
  /** A notification's text. */
  message: z.string().nullable(),
  priority: TaskPriority,
  state: TaskState,
  /** Why it is in its state: the agent's reason, `undeliverable` or `deadline_exceeded`. */
  reason: z.string().nullable(),
  /** The A2A contextId: the workflow this task belongs to (sessions follow it). */
  contextId: z.string().min(1),
  deadline: Timestamp,
  /** When an undecided approval escalates to the approver's manager; null for other kinds. */
  escalateAt: Timestamp.nullable(),
  /** The result artifact of a completed task. */
  result: z.json().nullable(),
  decision: TaskDecision.nullable(),
  escalatedTo: TaskEscalation.nullable(),
  escalatedAt: Timestamp.nullable(),
  /** Increases by one with every change; events carry it so consumers can order them. */
  version: z.number().int().positive(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  history: z.array(TaskHistoryEntry).optional(),
});
export type Task = z.infer<typeof Task>;

/** What one change did to a task (the payload of mesh.v1.task-created and mesh.v1.task-updated). */
export const TaskChange = z.object({
  task: Task,
  /** The history entry the change wrote, without its sequence number. */
  change: TaskHistoryEntry.omit({ seq: true }),
});
export type TaskChange = z.infer<typeof TaskChange>;

/** Optional fields of every create: the workflow, an absolute deadline, a priority. */
export const CreateOptions = {
  contextId: ContextId.optional(),
  /** Absolute; defaults per kind (service config). Must be in the future. */
  deadline: Timestamp.optional(),
  priority: TaskPriority.default('normal'),
};
