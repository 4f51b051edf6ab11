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

/**
 * THE task-visibility rule: REST get and list (the mesh router's SQL filter is its translation,
 * and a matrix test holds the two together), SSE live delivery, SSE replay and gRPC WatchEvents
 * all ask this. An agent sees a task it sent, was assigned, was addressed to (by agent id, or by
 * role when no agent was named) or that escalated to it; a task addressed to one agent of its role
 * is not its business. Administrators and viewers see every task.
 */
export function canSeeTask(task: TaskParties, observer: Observer): boolean {
  return (
    observer.seesAll ||
    task.from.agentId === observer.agentId ||
    task.assignee?.agentId === observer.agentId ||
    isTaskAddressee(task, observer) ||
    isTaskEscalationTarget(task, observer)
  );
}

/**
 * An agent sees, and acts on, its own sessions only (not those of other agents of its role);
 * administrators and viewers see every session.
 */
export function canSeeSession(session: Pick<Session, 'agentId'>, observer: Observer): boolean {
  return observer.seesAll || session.agentId === observer.agentId;
}
