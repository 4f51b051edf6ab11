import type {
  Task,
  TaskDecision,
  TaskEscalation,
  TaskHistoryEvent,
  TaskKind,
  TaskSender,
  TaskState,
} from '@orgmesh/contracts';
import type { OutboxEvent } from '@orgmesh/messaging';
import type { Sql } from '@orgmesh/persistence';
import type { TaskRow } from './task.entity.js';

/**
 * A task to create: the columns it is stored with as given (TaskRow's types), and its sender,
 * recipient, context and escalation time in the domain's names.
 */
export interface NewTask extends Pick<
  TaskRow,
  'id' | 'kind' | 'type' | 'subject' | 'input' | 'details' | 'message' | 'priority' | 'deadline'
> {
  from: TaskSender;
  to: { role: string; agentId: string | null };
  contextId: string;
  escalateAt: Date | null;
  now: Date;
}

/** An idempotency record to write with a change: a repeat of (operation, actor, key) returns `response`. */
export interface IdempotencyClaim {
  operation: string;
  actor: string;
  key: string;
  fingerprint: string;
}

/** What the domain decided for one command on the locked row. */
export type TaskDecisionOutcome =
  | { kind: 'noop' }
  | {
      kind: 'change';
      event: TaskHistoryEvent;
      to: TaskState;
      reason: string | null;
      patch: {
        /** A new input from the task's sender (AddTaskInput). */
        input?: unknown;
        assignee?: TaskSender;
        result?: unknown;
        decision?: TaskDecision;
        escalatedTo?: TaskEscalation | null;
        escalatedAt?: Date;
      };
      /** Deliver the changed task to another inbox too (an escalation). */
      deliverTo?: string;
      now: Date;
    };

/** A new task as the service settled it (task.changes.ts): the task to store and the events its creation emits. */
export interface TaskCreate {
  task: Task;
  events: OutboxEvent[];
}

/**
 * What a command does to a task, as the service settled it (task.changes.ts): nothing, or the
 * history event, the next task and the events the change emits. The repository writes it as it is.
 */
export type TaskWrite =
  { kind: 'noop' } | { kind: 'change'; event: TaskHistoryEvent; task: Task; events: OutboxEvent[] };

/** A change the service settled (taskWrite), by `actor`. */
export interface TaskChangeWrite {
  actor: string;
  write: Extract<TaskWrite, { kind: 'change' }>;
}

/**
 * What commits with a new task in its own transaction, or not at all (ADR 0019: an approval's
 * route and its planning entries): `rows`, rows of other tables that belong to the task; `changes`,
 * changes of the new task in order, each settled on the task the previous one left, written with
 * their history entries and events after the task's insert and `rows`.
 */
export interface JoinedWrites {
  rows: (tx: Sql) => Promise<void>;
  changes: TaskChangeWrite[];
}

export interface ChangeMeta {
  actor: string;
  idempotency?: IdempotencyClaim;
}

export interface TaskListFilter {
  role?: string;
  agentId?: string;
  state?: TaskState;
  kind?: TaskKind;
  contextId?: string;
  /** Only tasks changed at or after this instant (ISO 8601). */
  updatedAfter?: string;
  direction: 'inbound' | 'outbound' | 'any';
  /** Restricts to tasks this caller is a party to (non-admins). */
  visibleTo?: { agentId: string; role: string };
  limit: number;
  cursor?: { createdAt: string; id: string };
}

/** A previous answer stored under an idempotency key. */
export interface StoredResponse {
  fingerprint: string;
  response: Task;
}
