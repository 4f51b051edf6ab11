import {
  TERMINAL_TASK_STATES,
  type SessionEventName,
  type SessionState,
  type TaskChange,
} from '@orgmesh/contracts';

/** Where one agent's session in the task's context should be after a task change. */
export type SessionTarget = 'active' | 'paused' | 'completed' | 'failed';

export interface SessionStep {
  agentId: string;
  role: string;
  contextId: string;
  target: SessionTarget;
  reason: string;
}

interface AssigneeStep {
  target: SessionTarget;
  reason(label: string, change: TaskChange['change']): string;
}

/** The assignee produced the final result: completed or rejected. */
const FINISHED: AssigneeStep = { target: 'completed', reason: (label, change) => `${label} ${change.to}` };

/**
 * The events that move only the assignee's session, each to one target whatever else the task says.
 * The others are written out in `sessionSteps`: `create` moves the sender, `decide` the decider (and the
 * assignee), `fail` only when an agent reported it; `cancel` and `escalate` move nobody.
 */
const ASSIGNEE_STEPS: Partial<Record<TaskChange['change']['event'], AssigneeStep>> = {
  start: { target: 'active', reason: (label) => `took ${label}` },
  'require-input': { target: 'paused', reason: (label) => `${label} needs input` },
  complete: FINISHED,
  reject: FINISHED,
  expire: { target: 'failed', reason: (label) => `${label} timed out` },
};

/**
 * ARCHITECTURE §3/§4, "sessions follow the mesh", per agent and context:
 * - sending a task activates the sender's session; requesting an approval pauses it (it waits);
 * - taking a task (working) activates the assignee's session; input-required pauses it;
 * - the decision resumes the requester's session (as does any other end of its approval: it stops waiting),
 *   and completes the session of the agent that took it when someone else decided (ADR 0019);
 * - the final result completes the session of the agent that produced it (completed, decided,
 *   rejected), a failure fails it (the agent's failure report or a timeout of its task).
 * Notifications, escalations and cancellations leave the recipient's session alone; an undeliverable
 * task has nobody's session to fail.
 */
export function sessionSteps({ task, change }: TaskChange): SessionStep[] {
  if (task.kind === 'notification') return [];
  const steps: SessionStep[] = [];
  const step = (party: { agentId: string; role: string } | null, target: SessionTarget, reason: string) => {
    if (party)
      steps.push({ agentId: party.agentId, role: party.role, contextId: task.contextId, target, reason });
  };
  const label = `${task.kind} ${task.id}`;
  const assignee = task.assignee;
  const assigneeStep = ASSIGNEE_STEPS[change.event];
  if (assigneeStep) step(assignee, assigneeStep.target, assigneeStep.reason(label, change));
  switch (change.event) {
    case 'create':
      step(
        task.from,
        task.kind === 'approval' ? 'paused' : 'active',
        task.kind === 'approval' ? `waiting on ${label}` : `sent ${label}`,
      );
      break;
    case 'decide': {
      const decider = task.decision?.decidedBy ?? assignee;
      step(decider, 'completed', `decided ${label}`);
      // Decided by someone else (a person of the org chart, the end of a route, an escalation's
      // manager): the agent that took it — paused if it handed the approval to people — is done with it too.
      if (assignee && decider && assignee.agentId !== decider.agentId)
        step(assignee, 'completed', `${label} decided by ${decider.agentId}`);
      break;
    }
    case 'fail':
      // A failure the router declares (an undeliverable task) is nobody's: no session fails with it.
      if (change.actor !== 'system') step(assignee, 'failed', `${label} failed`);
      break;
    default:
      break;
  }
  const ended = change.to !== change.from && TERMINAL_TASK_STATES.includes(change.to);
  if (task.kind === 'approval' && ended) {
    step(
      task.from,
      'active',
      change.event === 'decide'
        ? `${label} decided: ${task.decision?.decision ?? ''}`
        : `${label} ${change.to}`,
    );
  }
  return steps;
}

/** The next session event toward `target`, or null when there (or the session has ended). */
export function nextSessionEvent(status: SessionState, target: SessionTarget): SessionEventName | null {
  switch (status) {
    case 'pending':
      return target === 'failed' ? 'fail' : 'activate';
    case 'active':
      return target === 'paused'
        ? 'pause'
        : target === 'completed'
          ? 'complete'
          : target === 'failed'
            ? 'fail'
            : null;
    case 'paused':
      return target === 'paused' ? null : target === 'failed' ? 'fail' : 'resume';
    case 'completed':
    case 'failed':
    case 'expired':
      return null;
  }
}
