import { expect } from '@jest/globals';
import { GetSession, ListSessionTransitions, type Session, type SessionTransition } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { outcomeOf } from '../src/session/session.fsm.js';

// The harness lives in src/testing (built, so the bench can load it from dist/) and reaches other
// packages as @orgmesh/sessions/testing; this package's own tests keep importing it from here, with
// the assertions that need jest (which must not load outside a jest run).
export * from '../src/testing/sessions-harness.js';

/**
 * Reads a session and its history and asserts the history is a valid FSM path from `pending`
 * ending in the stored state, with one version per transition. Returns both.
 */
export async function expectValidHistory(
  bus: MessageBus,
  id: string,
): Promise<{ stored: Session; items: SessionTransition[] }> {
  const stored = await bus.request(GetSession, { id });
  const { items } = await bus.request(ListSessionTransitions, { id });
  let state: Session['status'] = 'pending';
  for (const t of items) {
    expect(t.from).toBe(state);
    expect(outcomeOf(state, t.event)).toEqual({ kind: 'move', to: t.to });
    state = t.to;
  }
  expect(state).toBe(stored.status);
  expect(stored.version).toBe(items.length);
  return { stored, items };
}
