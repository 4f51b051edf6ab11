import {
  TASK_FSM_EVENTS,
  TERMINAL_TASK_STATES,
  type TaskFsmEvent,
  type TaskKind,
  type TaskState,
} from '@orgmesh/contracts';

/** The outcome of an event in a state: a move, a no-op (the agent repeating itself), or illegal. */
export type TaskOutcome = { kind: 'move'; to: TaskState } | { kind: 'noop' } | { kind: 'illegal' };

const move = (to: TaskState): TaskOutcome => ({ kind: 'move', to });
const NOOP: TaskOutcome = { kind: 'noop' };
const ILLEGAL: TaskOutcome = { kind: 'illegal' };

/**
 * A2A v1.0 task lifecycle (ARCHITECTURE §4): submitted → working → (input-required ⇄ working) →
 * completed | failed | canceled | rejected. Rows are events, columns states, written out in full.
 * Two deliberate widenings of the arrow diagram: `complete` from submitted (a notification is
 * acknowledged on receipt; A2A lets an agent answer at once) and `decide` from any open state (an
 * approver need not announce it is working before deciding). `expire` (the deadline job) fails.
 * Terminal states absorb: everything is illegal there.
 */
// A table, reviewed cell by cell against the design: kept one row per event.
// prettier-ignore
export const TASK_TRANSITIONS: Readonly<Record<TaskFsmEvent, Readonly<Record<TaskState, TaskOutcome>>>> = {
  start: { submitted: move('working'), working: NOOP, 'input-required': move('working'), completed: ILLEGAL, failed: ILLEGAL, canceled: ILLEGAL, rejected: ILLEGAL },
  'require-input': { submitted: ILLEGAL, working: move('input-required'), 'input-required': NOOP, completed: ILLEGAL, failed: ILLEGAL, canceled: ILLEGAL, rejected: ILLEGAL },
  complete: { submitted: move('completed'), working: move('completed'), 'input-required': ILLEGAL, completed: ILLEGAL, failed: ILLEGAL, canceled: ILLEGAL, rejected: ILLEGAL },
  decide: { submitted: move('completed'), working: move('completed'), 'input-required': move('completed'), completed: ILLEGAL, failed: ILLEGAL, canceled: ILLEGAL, rejected: ILLEGAL },
  fail: { submitted: move('failed'), working: move('failed'), 'input-required': move('failed'), completed: ILLEGAL, failed: ILLEGAL, canceled: ILLEGAL, rejected: ILLEGAL },
  reject: { submitted: move('rejected'), working: move('rejected'), 'input-required': move('rejected'), completed: ILLEGAL, failed: ILLEGAL, canceled: ILLEGAL, rejected: ILLEGAL },
  cancel: { submitted: move('canceled'), working: move('canceled'), 'input-required': move('canceled'), completed: ILLEGAL, failed: ILLEGAL, canceled: ILLEGAL, rejected: ILLEGAL },
  expire: { submitted: move('failed'), working: move('failed'), 'input-required': move('failed'), completed: ILLEGAL, failed: ILLEGAL, canceled: ILLEGAL, rejected: ILLEGAL },
};

/** Which events each kind accepts at all: approvals end by a decision, the others by `complete`. */
export const KIND_EVENTS: Readonly<Record<TaskKind, readonly TaskFsmEvent[]>> = {
  task: ['start', 'require-input', 'complete', 'fail', 'reject', 'cancel', 'expire'],
  approval: ['start', 'require-input', 'decide', 'fail', 'reject', 'cancel', 'expire'],
  notification: ['start', 'complete', 'fail', 'cancel', 'expire'],
};

export function taskOutcome(kind: TaskKind, state: TaskState, event: TaskFsmEvent): TaskOutcome {
  if (!KIND_EVENTS[kind].includes(event)) return ILLEGAL;
  return TASK_TRANSITIONS[event][state];
}

/** The events a task of this kind accepts in this state (moves and no-ops), in table order. */
export function allowedTaskEvents(kind: TaskKind, state: TaskState): TaskFsmEvent[] {
  return TASK_FSM_EVENTS.filter((event) => taskOutcome(kind, state, event).kind !== 'illegal');
}

export function isTerminalTaskState(state: TaskState): boolean {
  return TERMINAL_TASK_STATES.includes(state);
}

/** The FSM event behind an agent's update-task report. */
export function eventForReportedState(
  state: 'working' | 'input-required' | 'completed' | 'failed' | 'rejected',
): TaskFsmEvent {
  switch (state) {
    case 'working':
      return 'start';
    case 'input-required':
      return 'require-input';
    case 'completed':
      return 'complete';
    case 'failed':
      return 'fail';
    case 'rejected':
      return 'reject';
  }
}
