import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { SESSION_STATES, type SessionState, type Task, type TaskChange } from '@orgmesh/contracts';
import { outcomeOf } from '../session/session.fsm.js';
import { nextSessionEvent, sessionSteps, type SessionTarget } from './mesh-follow.mapping.js';
import { approvalTask, manager } from './mesh-follow.fixtures.js';

const approval = approvalTask;
const change = (task: Partial<Task>, c: Partial<TaskChange['change']>): TaskChange => ({
  task: { ...approval, ...task },
  change: {
    event: 'create',
    from: null,
    to: 'submitted',
    actor: 'finance-agent',
    reason: null,
    occurredAt: approval.createdAt,
    ...c,
  },
});
const targets = (tc: TaskChange) => sessionSteps(tc).map((s) => [s.agentId, s.target]);

describe('sessions follow the mesh: which session goes where', () => {
  it('pauses the requester of an approval and activates the sender of a task', () => {
    expect(targets(change({}, {}))).toEqual([['finance-agent', 'paused']]);
    expect(targets(change({ kind: 'task', from: manager }, { actor: 'manager-agent' }))).toEqual([
      ['manager-agent', 'active'],
    ]);
    expect(sessionSteps(change({}, {}))[0]?.contextId).toBe('ctx-1');
  });

  it('activates the agent taking a task and pauses it while it needs input', () => {
    const taken = { assignee: manager, state: 'working' as const };
    expect(
      targets(change(taken, { event: 'start', from: 'submitted', to: 'working', actor: 'manager-agent' })),
    ).toEqual([['manager-agent', 'active']]);
    expect(
      targets(
        change(
          { ...taken, state: 'input-required' },
          { event: 'require-input', from: 'working', to: 'input-required' },
        ),
      ),
    ).toEqual([['manager-agent', 'paused']]);
  });

  it('on a decision completes the decider and resumes the requester', () => {
    const decided = change(
      {
        state: 'completed',
        assignee: manager,
        decision: { decision: 'approve', comment: null, decidedBy: manager, decidedAt: approval.createdAt },
      },
      { event: 'decide', from: 'working', to: 'completed', actor: 'manager-agent' },
    );
    expect(targets(decided)).toEqual([
      ['manager-agent', 'completed'],
      ['finance-agent', 'active'],
    ]);
  });

  it('a decision by someone else (a person, the end of a route) completes the assignee that handed it over too', () => {
    const person = { agentId: 'u00002', role: 'manager' };
    const byPerson = change(
      {
        state: 'completed',
        assignee: manager,
        decision: { decision: 'reject', comment: null, decidedBy: person, decidedAt: approval.createdAt },
      },
      { event: 'decide', from: 'input-required', to: 'completed', actor: 'u00002' },
    );
    expect(targets(byPerson)).toEqual([
      ['u00002', 'completed'],
      ['manager-agent', 'completed'],
      ['finance-agent', 'active'],
    ]);
    // Nobody took it (its agent step passed unanswered): only the decider and the requester move.
    expect(targets(change({ ...byPerson.task, assignee: null }, byPerson.change))).toEqual([
      ['u00002', 'completed'],
      ['finance-agent', 'active'],
    ]);
  });

  it('fails the assignee on its failure or timeout, not on an undeliverable task, and always releases the requester', () => {
    const working = { assignee: manager, state: 'failed' as const };
    expect(
      targets(change(working, { event: 'fail', from: 'working', to: 'failed', actor: 'manager-agent' })),
    ).toEqual([
      ['manager-agent', 'failed'],
      ['finance-agent', 'active'],
    ]);
    expect(
      targets(change(working, { event: 'expire', from: 'working', to: 'failed', actor: 'system' })),
    ).toEqual([
      ['manager-agent', 'failed'],
      ['finance-agent', 'active'],
    ]);
    expect(
      targets(
        change({ state: 'failed' }, { event: 'fail', from: 'submitted', to: 'failed', actor: 'system' }),
      ),
    ).toEqual([['finance-agent', 'active']]);
    expect(
      targets(change({ state: 'canceled' }, { event: 'cancel', from: 'submitted', to: 'canceled' })),
    ).toEqual([['finance-agent', 'active']]);
  });

  it('completes the agent that finished a task, leaves the sender of a plain task alone', () => {
    const legal = { agentId: 'legal-agent', role: 'legal' };
    const done = change(
      { kind: 'task', from: manager, assignee: legal, state: 'completed' },
      { event: 'complete', from: 'working', to: 'completed', actor: 'legal-agent' },
    );
    expect(targets(done)).toEqual([['legal-agent', 'completed']]);
  });

  it('ignores notifications and escalations', () => {
    expect(sessionSteps(change({ kind: 'notification' }, {}))).toEqual([]);
    expect(
      sessionSteps(change({}, { event: 'escalate', from: 'submitted', to: 'submitted', actor: 'system' })),
    ).toEqual([]);
  });
});

describe('converging a session toward a target', () => {
  it('reaches every target from every open state along legal transitions only', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<SessionState>('pending', 'active', 'paused'),
        fc.constantFrom<SessionTarget>('active', 'paused', 'completed', 'failed'),
        (start, target) => {
          let state: SessionState = start;
          for (let i = 0; i < 4; i++) {
            const event = nextSessionEvent(state, target);
            if (!event) break;
            const outcome = outcomeOf(state, event);
            expect(outcome.kind).toBe('move');
            if (outcome.kind === 'move') state = outcome.to;
          }
          expect(state).toBe(target);
        },
      ),
    );
  });

  it('does nothing to an ended session', () => {
    for (const state of SESSION_STATES.filter((s) => ['completed', 'failed', 'expired'].includes(s))) {
      for (const target of ['active', 'paused', 'completed', 'failed'] as const)
        expect(nextSessionEvent(state, target)).toBeNull();
    }
  });

  it('names the paths of the mesh scenario', () => {
    const path = (start: SessionState, target: SessionTarget) => {
      const events: string[] = [];
      let state = start;
      for (let event = nextSessionEvent(state, target); event; event = nextSessionEvent(state, target)) {
        events.push(event);
        const outcome = outcomeOf(state, event);
        if (outcome.kind !== 'move') break;
        state = outcome.to;
      }
      return events;
    };
    expect(path('pending', 'paused')).toEqual(['activate', 'pause']);
    expect(path('paused', 'active')).toEqual(['resume']);
    expect(path('pending', 'completed')).toEqual(['activate', 'complete']);
    expect(path('paused', 'completed')).toEqual(['resume', 'complete']);
  });
});
