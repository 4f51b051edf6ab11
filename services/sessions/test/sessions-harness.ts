import { expect } from '@jest/globals';
import { GetSession, ListSessionTransitions, type Session, type SessionTransition } from '@orgmesh/contracts';
import { createTestContext, type TestContext } from '@orgmesh/testing';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { loadSessionsConfig, type SessionsConfig } from '../src/sessions.config.js';
import { startSessionsApp, type SessionsApp } from '../src/sessions.app.js';
import type { Clock } from '../src/session/session.service.js';
import { outcomeOf } from '../src/session/session.fsm.js';

export const silentLogger = createLogger({ service: 'sessions-test', level: 'silent' });

export function testConfig(ctx: TestContext, overrides: Record<string, string> = {}): SessionsConfig {
  return loadSessionsConfig({
    NATS_URL: ctx.natsUrl,
    DATABASE_URL: ctx.databaseUrl,
    SESSIONS_HTTP_PORT: '0',
    NATS_SUBJECT_PREFIX: ctx.subjectPrefix,
    NATS_NAME_SUFFIX: ctx.nameSuffix,
    LOG_LEVEL: 'silent',
    ...overrides,
  });
}

/** A client bus in the same isolated namespace as the service under test. */
export function clientBus(ctx: TestContext, natsUrl = ctx.natsUrl): Promise<MessageBus> {
  return connectBus({ url: natsUrl, name: 'sessions-test-client', subjectPrefix: ctx.subjectPrefix, nameSuffix: ctx.nameSuffix, logger: silentLogger });
}

export async function startTestSessions(
  ctx: TestContext,
  options: { overrides?: Record<string, string>; clock?: Clock; startJobs?: boolean } = {},
): Promise<SessionsApp> {
  return startSessionsApp(testConfig(ctx, options.overrides), {
    logger: silentLogger,
    migrate: true,
    clock: options.clock,
    startJobs: options.startJobs ?? false,
  });
}

export { createTestContext };

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
