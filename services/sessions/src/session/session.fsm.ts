import type { SessionEventName, SessionState } from '@orgmesh/contracts';
import { SESSION_EVENTS, TERMINAL_SESSION_STATES } from '@orgmesh/contracts';

/** The outcome of an event in a state: a move to a state, a no-op, or illegal. */
export type TransitionOutcome = { kind: 'move'; to: SessionState } | { kind: 'noop' } | { kind: 'illegal' };

const move = (to: SessionState): TransitionOutcome => ({ kind: 'move', to });
const NOOP: TransitionOutcome = { kind: 'noop' };
const ILLEGAL: TransitionOutcome = { kind: 'illegal' };

/**
 * ARCHITECTURE §3, verbatim: rows are events, columns states. Terminal states absorb everything.
 * Written out in full (no defaults) so a reviewer can check it cell by cell against the design table.
 */
export const TRANSITION_TABLE: Readonly<Record<SessionEventName, Readonly<Record<SessionState, TransitionOutcome>>>> = {
  activate: { pending: move('active'), active: NOOP, paused: ILLEGAL, completed: ILLEGAL, failed: ILLEGAL, expired: ILLEGAL },
  pause: { pending: ILLEGAL, active: move('paused'), paused: NOOP, completed: ILLEGAL, failed: ILLEGAL, expired: ILLEGAL },
  resume: { pending: ILLEGAL, active: ILLEGAL, paused: move('active'), completed: ILLEGAL, failed: ILLEGAL, expired: ILLEGAL },
  complete: { pending: ILLEGAL, active: move('completed'), paused: ILLEGAL, completed: ILLEGAL, failed: ILLEGAL, expired: ILLEGAL },
  fail: { pending: move('failed'), active: move('failed'), paused: move('failed'), completed: ILLEGAL, failed: ILLEGAL, expired: ILLEGAL },
  expire: { pending: move('expired'), active: move('expired'), paused: move('expired'), completed: ILLEGAL, failed: ILLEGAL, expired: ILLEGAL },
};

export function outcomeOf(state: SessionState, event: SessionEventName): TransitionOutcome {
  return TRANSITION_TABLE[event][state];
}

/** The events a state accepts (moves and no-ops), in table order; named in illegal-transition errors. */
export function allowedEvents(state: SessionState): SessionEventName[] {
  return SESSION_EVENTS.filter((event) => TRANSITION_TABLE[event][state].kind !== 'illegal');
}

export function isTerminal(state: SessionState): boolean {
  return TERMINAL_SESSION_STATES.includes(state);
}

/** The lifecycle timestamps that follow the state. */
export interface SessionTimestamps {
  lastTransitionAt: Date;
  pausedAt: Date | null;
  completedAt: Date | null;
  failedAt: Date | null;
  expiredAt: Date | null;
}

/**
 * Timestamps after moving to `to` at `now`. Invariant: pausedAt is set exactly while paused (set on
 * pause, cleared when the session leaves paused, by resume or by a terminal event); each terminal
 * timestamp is set exactly in its state.
 */
export function nextTimestamps(current: SessionTimestamps, to: SessionState, now: Date): SessionTimestamps {
  return {
    lastTransitionAt: now,
    pausedAt: to === 'paused' ? now : null,
    completedAt: to === 'completed' ? now : current.completedAt,
    failedAt: to === 'failed' ? now : current.failedAt,
    expiredAt: to === 'expired' ? now : current.expiredAt,
  };
}
