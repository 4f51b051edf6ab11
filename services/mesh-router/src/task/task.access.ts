import { canSeeTask, isTaskAddressee, isTaskEscalationTarget, type Task } from '@orgmesh/contracts';

/** The verified caller: the token's subject and role (never a payload's claim). */
export interface Caller {
  agentId: string;
  role: string;
  /** `orgmesh:admin`: may cancel any task and sees every task. */
  admin: boolean;
  /** Admins and read-only viewers (`orgmesh:read`) see every task (libs/contracts `canSeeTask`). */
  seesAll: boolean;
  /**
   * A person of the org chart (`orgmesh:person`; `agentId` is their user id): decides approvals routed
   * to people (src/approval) and nothing else. Optional so callers built before people keep compiling.
   */
  person?: boolean;
}

/** The caller is whom the task was addressed to: that agent, or any agent of that role. */
export function isAddressee(task: Task, caller: Caller): boolean {
  return isTaskAddressee(task, caller);
}

export function isEscalationTarget(task: Task, caller: Caller): boolean {
  return isTaskEscalationTarget(task, caller);
}

/** May report progress (update-task): the assignee once there is one, before that the addressee. */
export function canWork(task: Task, caller: Caller): boolean {
  // People decide approvals through src/approval, never as a role's agent.
  if (caller.person) return false;
  if (task.assignee) return task.assignee.agentId === caller.agentId;
  return isAddressee(task, caller) || isEscalationTarget(task, caller);
}

/** May decide an approval: whoever may work on it, and the manager it escalated to. */
export function canDecide(task: Task, caller: Caller): boolean {
  return canWork(task, caller) || isEscalationTarget(task, caller);
}

export function canCancel(task: Task, caller: Caller): boolean {
  if (caller.person) return false;
  return caller.admin || task.from.agentId === caller.agentId;
}

/** The one visibility rule, shared with the gateway's event streams (libs/contracts). */
export function canSee(task: Task, caller: Caller): boolean {
  return canSeeTask(task, caller);
}
