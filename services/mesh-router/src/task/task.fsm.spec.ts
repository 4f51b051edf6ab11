import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  TASK_FSM_EVENTS,
  TASK_KINDS,
  TASK_STATES,
  type TaskFsmEvent,
  type TaskKind,
  type TaskState,
} from '@orgmesh/contracts';
import { allowedTaskEvents, isTerminalTaskState, taskOutcome, TASK_TRANSITIONS } from './task.fsm.js';

// ARCHITECTURE §4 restated independently: "-" illegal, "=" no-op, otherwise the next state.
// A table, reviewed cell by cell against the design: kept one row per event.
// prettier-ignore
const DESIGN: Record<TaskFsmEvent, Record<TaskState, string>> = {
  start: { submitted: 'working', working: '=', 'input-required': 'working', completed: '-', failed: '-', canceled: '-', rejected: '-' },
  'require-input': { submitted: '-', working: 'input-required', 'input-required': '=', completed: '-', failed: '-', canceled: '-', rejected: '-' },
  complete: { submitted: 'completed', working: 'completed', 'input-required': '-', completed: '-', failed: '-', canceled: '-', rejected: '-' },
  decide: { submitted: 'completed', working: 'completed', 'input-required': 'completed', completed: '-', failed: '-', canceled: '-', rejected: '-' },
  fail: { submitted: 'failed', working: 'failed', 'input-required': 'failed', completed: '-', failed: '-', canceled: '-', rejected: '-' },
  reject: { submitted: 'rejected', working: 'rejected', 'input-required': 'rejected', completed: '-', failed: '-', canceled: '-', rejected: '-' },
  cancel: { submitted: 'canceled', working: 'canceled', 'input-required': 'canceled', completed: '-', failed: '-', canceled: '-', rejected: '-' },
  expire: { submitted: 'failed', working: 'failed', 'input-required': 'failed', completed: '-', failed: '-', canceled: '-', rejected: '-' },
};
// Events a kind never accepts, whatever the state.
const FOREIGN: Record<TaskKind, TaskFsmEvent[]> = {
  task: ['decide'],
  approval: ['complete'],
  notification: ['decide', 'require-input', 'reject'],
};

function render(kind: TaskKind, state: TaskState, event: TaskFsmEvent): string {
  const outcome = taskOutcome(kind, state, event);
  return outcome.kind === 'move' ? outcome.to : outcome.kind === 'noop' ? '=' : '-';
}

describe('task FSM transition table', () => {
  const cells = TASK_KINDS.flatMap((kind) =>
    TASK_STATES.flatMap((state) => TASK_FSM_EVENTS.map((event) => [kind, state, event] as const)),
  );

  it('covers all 3 kinds × 7 states × 8 events', () => {
    expect(cells).toHaveLength(168);
    expect(Object.keys(TASK_TRANSITIONS).sort()).toEqual([...TASK_FSM_EVENTS].sort());
  });

  it.each(cells)('%s: %s + %s matches the design table', (kind, state, event) => {
    const expected = FOREIGN[kind].includes(event) ? '-' : DESIGN[event][state];
    expect(render(kind, state, event)).toBe(expected);
  });

  it('terminal states absorb every event of every kind', () => {
    for (const kind of TASK_KINDS) {
      for (const state of ['completed', 'failed', 'canceled', 'rejected'] as const) {
        expect(isTerminalTaskState(state)).toBe(true);
        expect(allowedTaskEvents(kind, state)).toEqual([]);
      }
    }
    expect(isTerminalTaskState('input-required')).toBe(false);
  });

  it('names what each open state accepts', () => {
    expect(allowedTaskEvents('task', 'submitted')).toEqual([
      'start',
      'complete',
      'fail',
      'reject',
      'cancel',
      'expire',
    ]);
    expect(allowedTaskEvents('approval', 'input-required')).toEqual([
      'start',
      'require-input',
      'decide',
      'fail',
      'reject',
      'cancel',
      'expire',
    ]);
    expect(allowedTaskEvents('notification', 'submitted')).toEqual([
      'start',
      'complete',
      'fail',
      'cancel',
      'expire',
    ]);
  });
});

describe('task FSM properties', () => {
  const arbitrary = fc.record({
    kind: fc.constantFrom(...TASK_KINDS),
    events: fc.array(fc.constantFrom(...TASK_FSM_EVENTS), { maxLength: 30 }),
  });

  it('every path starts submitted, moves only along the table, and stops moving once terminal', () => {
    fc.assert(
      fc.property(arbitrary, ({ kind, events }) => {
        let state: TaskState = 'submitted';
        let ended = false;
        for (const event of events) {
          const outcome = taskOutcome(kind, state, event);
          if (ended) expect(outcome.kind).toBe('illegal');
          if (outcome.kind === 'move') {
            expect(outcome.to).not.toBe('submitted');
            state = outcome.to;
          }
          ended = isTerminalTaskState(state);
        }
      }),
    );
  });

  it('a no-op never changes the state and only repeats the current one', () => {
    for (const kind of TASK_KINDS) {
      for (const state of TASK_STATES) {
        for (const event of TASK_FSM_EVENTS) {
          if (taskOutcome(kind, state, event).kind === 'noop') {
            expect([
              ['working', 'start'],
              ['input-required', 'require-input'],
            ]).toContainEqual([state, event]);
          }
        }
      }
    }
  });

  it('approvals reach completed only by a decision, tasks and notifications only by complete', () => {
    for (const state of TASK_STATES) {
      for (const event of TASK_FSM_EVENTS) {
        const approval = taskOutcome('approval', state, event);
        if (approval.kind === 'move' && approval.to === 'completed') expect(event).toBe('decide');
        const task = taskOutcome('task', state, event);
        if (task.kind === 'move' && task.to === 'completed') expect(event).toBe('complete');
      }
    }
  });
});
