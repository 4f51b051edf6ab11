import type { Task } from './mesh/task.schema.js';
import type { Session } from './sessions/session.schema.js';

/**
 * Who is looking, as a verified token says: its subject (the agent id), its role, and whether it
 * may see everything (administrators and read-only viewers). Never taken from a payload.
 */
export interface Observer {
  readonly agentId: string;
  readonly role: string;
  readonly seesAll: boolean;
}

/** The parts of a task that decide who may see it (a full `Task`, or the `task` of a task event). */
export type TaskParties = Pick<Task, 'from' | 'to' | 'assignee' | 'escalatedTo'>;

/** Addressed to the observer: to it by agent id, or to its role when no agent was named. */
export function isTaskAddressee(task: Pick<Task, 'to'>, observer: Pick<Observer, 'agentId' | 'role'>): boolean {
  return task.to.agentId ? observer.agentId === task.to.agentId : observer.role === task.to.role;
}

/** The approver's manager it escalated to: by the person's id, or anyone of that role. */
export function isTaskEscalationTarget(
  task: Pick<Task, 'escalatedTo'>,
  observer: Pick<Observer, 'agentId' | 'role'>,
): boolean {
  const target = task.escalatedTo;
  return target !== null && (observer.role === target.role || observer.agentId === target.userId);
}

/** A field of a task that names a party, as a path into the task. */
export type TaskPartyField =
  | 'from.agentId'
  | 'assignee.agentId'
  | 'to.agentId'
  | 'to.role'
  | 'escalatedTo.role'
  | 'escalatedTo.userId';

/** One condition: the field equals the observer's agent id or role, or the field is empty. */
export type TaskVisibilityCondition =
  | { readonly field: TaskPartyField; readonly equals: 'agentId' | 'role' }
  | { readonly field: TaskPartyField; readonly isNull: true };

/**
 * THE task-visibility rule, as data: an agent sees a task when every condition of at least one
 * clause holds. Data rather than code so that the same definition is evaluated here (SSE live
 * delivery, SSE replay, gRPC WatchEvents, the mesh router's get) and translated into SQL by the
 * mesh router's list: the five cannot drift apart. An agent sees a task it sent, was assigned, was
 * addressed to by agent id, was addressed to by role when no agent was named, or that escalated to
 * its role or to it; a task addressed to another agent of its role is not its business.
 * Administrators and viewers see every task (`Observer.seesAll`).
 */
export const TASK_VISIBILITY: readonly (readonly TaskVisibilityCondition[])[] = [
  [{ field: 'from.agentId', equals: 'agentId' }],
  [{ field: 'assignee.agentId', equals: 'agentId' }],
  [{ field: 'to.agentId', equals: 'agentId' }],
  [
    { field: 'to.role', equals: 'role' },
    { field: 'to.agentId', isNull: true },
  ],
  [{ field: 'escalatedTo.role', equals: 'role' }],
  [{ field: 'escalatedTo.userId', equals: 'agentId' }],
];

function partyValue(task: TaskParties, field: TaskPartyField): string | null {
  switch (field) {
    case 'from.agentId':
      return task.from.agentId;
    case 'assignee.agentId':
      return task.assignee?.agentId ?? null;
    case 'to.agentId':
      return task.to.agentId ?? null;
    case 'to.role':
      return task.to.role;
    case 'escalatedTo.role':
      return task.escalatedTo?.role ?? null;
    case 'escalatedTo.userId':
      return task.escalatedTo?.userId ?? null;
  }
}

function holds(task: TaskParties, condition: TaskVisibilityCondition, observer: Observer): boolean {
  const value = partyValue(task, condition.field);
  if ('isNull' in condition) return value === null;
  return value !== null && value === observer[condition.equals];
}

/** Whether the observer may see the task: `TASK_VISIBILITY`, or everything for those who see all. */
export function canSeeTask(task: TaskParties, observer: Observer): boolean {
  return (
    observer.seesAll ||
    TASK_VISIBILITY.some((clause) => clause.every((condition) => holds(task, condition, observer)))
  );
}

/**
 * An agent sees, and acts on, its own sessions only (not those of other agents of its role);
 * administrators and viewers see every session.
 */
export function canSeeSession(session: Pick<Session, 'agentId'>, observer: Observer): boolean {
  return observer.seesAll || session.agentId === observer.agentId;
}
