import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { SESSION_EVENTS, SESSION_STATES, type SessionEventName, type SessionState } from '@orgmesh/contracts';
import { allowedEvents, isTerminal, nextTimestamps, outcomeOf, type SessionTimestamps } from './session.fsm.js';

// The design table of ARCHITECTURE §3, restated independently as strings: "-" illegal, "=" no-op.
const DESIGN: Record<SessionEventName, Record<SessionState, string>> = {
  activate: { pending: 'active', active: '=', paused: '-', completed: '-', failed: '-', expired: '-' },
  pause: { pending: '-', active: 'paused', paused: '=', completed: '-', failed: '-', expired: '-' },
  resume: { pending: '-', active: '-', paused: 'active', completed: '-', failed: '-', expired: '-' },
  complete: { pending: '-', active: 'completed', paused: '-', completed: '-', failed: '-', expired: '-' },
  fail: { pending: 'failed', active: 'failed', paused: 'failed', completed: '-', failed: '-', expired: '-' },
  expire: { pending: 'expired', active: 'expired', paused: 'expired', completed: '-', failed: '-', expired: '-' },
};

function render(state: SessionState, event: SessionEventName): string {
  const outcome = outcomeOf(state, event);
  return outcome.kind === 'move' ? outcome.to : outcome.kind === 'noop' ? '=' : '-';
}

describe('session FSM transition table', () => {
  const cells = SESSION_STATES.flatMap((state) => SESSION_EVENTS.map((event) => [state, event] as const));
  it.each(cells)('%s + %s matches the design table', (state, event) => {
    expect(render(state, event)).toBe(DESIGN[event][state]);
  });

  it('covers all 36 state × event pairs', () => {
    expect(cells).toHaveLength(36);
  });

  it('terminal states accept nothing', () => {
    for (const state of ['completed', 'failed', 'expired'] as const) {
      expect(isTerminal(state)).toBe(true);
      expect(allowedEvents(state)).toEqual([]);
    }
  });

  it('names the events each live state accepts', () => {
    expect(allowedEvents('pending')).toEqual(['activate', 'fail', 'expire']);
    expect(allowedEvents('active')).toEqual(['activate', 'pause', 'complete', 'fail', 'expire']);
    expect(allowedEvents('paused')).toEqual(['pause', 'resume', 'fail', 'expire']);
  });
});

interface Replayed {
  state: SessionState;
  ts: SessionTimestamps;
  history: Array<{ from: SessionState; to: SessionState; event: SessionEventName }>;
}

function replay(events: SessionEventName[]): Replayed {
  const start = new Date(0);
  let state: SessionState = 'pending';
  let ts: SessionTimestamps = { lastTransitionAt: start, pausedAt: null, completedAt: null, failedAt: null, expiredAt: null };
  const history: Replayed['history'] = [];
  events.forEach((event, i) => {
    const outcome = outcomeOf(state, event);
    if (outcome.kind !== 'move') return;
    ts = nextTimestamps(ts, outcome.to, new Date(1000 * (i + 1)));
    history.push({ from: state, to: outcome.to, event });
    state = outcome.to;
  });
  return { state, ts, history };
}

describe('session FSM properties', () => {
  const events = fc.array(fc.constantFrom(...SESSION_EVENTS), { maxLength: 40 });

  it('the final state equals the replay of the recorded history', () => {
    fc.assert(
      fc.property(events, (sequence) => {
        const { state, history } = replay(sequence);
        // Replaying only the recorded (applied) transitions reaches the same state, and each is chained.
        let replayed: SessionState = 'pending';
        for (const step of history) {
          expect(step.from).toBe(replayed);
          const outcome = outcomeOf(replayed, step.event);
          expect(outcome).toEqual({ kind: 'move', to: step.to });
          replayed = step.to;
        }
        expect(replayed).toBe(state);
      }),
    );
  });

  it('timestamps stay consistent with the state', () => {
    fc.assert(
      fc.property(events, (sequence) => {
        const { state, ts, history } = replay(sequence);
        expect(ts.pausedAt !== null).toBe(state === 'paused');
        expect(ts.completedAt !== null).toBe(state === 'completed');
        expect(ts.failedAt !== null).toBe(state === 'failed');
        expect(ts.expiredAt !== null).toBe(state === 'expired');
        if (history.length === 0) expect(ts.lastTransitionAt.getTime()).toBe(0);
        for (const stamp of [ts.pausedAt, ts.completedAt, ts.failedAt, ts.expiredAt]) {
          if (stamp) expect(stamp.getTime()).toBe(ts.lastTransitionAt.getTime());
        }
      }),
    );
  });

  it('terminal states absorb every later event', () => {
    fc.assert(
      fc.property(events, events, (before, after) => {
        const first = replay(before);
        fc.pre(isTerminal(first.state));
        const second = replay([...before, ...after]);
        expect(second.state).toBe(first.state);
        expect(second.history).toHaveLength(first.history.length);
      }),
    );
  });
});
