import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AppError,
  ApplySessionEvent,
  CreateSession,
  GetSession,
  ListSessionTransitions,
  ListSessions,
  SessionCreated,
  SessionTransitioned,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { expectEventually, rpcError, type TestContext } from '@orgmesh/testing';
import { clientBus, createTestContext, expectValidHistory, sessionsBearer, startTestSessions } from './sessions-harness.js';
import type { SessionsApp } from '../src/sessions.app.js';

describe('sessions service over NATS and Postgres', () => {
  let ctx: TestContext;
  let app: SessionsApp;
  let bus: MessageBus;

  beforeAll(async () => {
    ctx = await createTestContext();
    app = await startTestSessions(ctx);
    bus = await clientBus(ctx);
  });

  afterAll(async () => {
    await bus?.close();
    await app?.close();
    await ctx?.dispose();
  });

  it('creates, reads, lists and transitions a session, recording its history', async () => {
    const created = await bus.request(CreateSession, { agentId: 'finance-agent', role: 'finance', metadata: { ticket: 'Q1' } });
    expect(created).toMatchObject({ agentId: 'finance-agent', role: 'finance', status: 'pending', version: 0 });
    expect(created.contextId).toBeTruthy();

    // The actor is the verified caller: the payload's `actor` counts for nothing.
    const finance = { authorization: await sessionsBearer(ctx, 'finance-agent', 'finance') };
    const admin = { authorization: await sessionsBearer(ctx, 'ops-admin', 'admin') };
    const active = await bus.request(ApplySessionEvent, { id: created.id, event: 'activate', actor: 'someone-else' }, finance);
    expect(active).toMatchObject({ status: 'active', version: 1 });
    const paused = await bus.request(ApplySessionEvent, { id: created.id, event: 'pause', reason: 'waiting for approval' }, finance);
    expect(paused.status).toBe('paused');
    expect(paused.pausedAt).not.toBeNull();
    const resumed = await bus.request(ApplySessionEvent, { id: created.id, event: 'resume', actor: 'finance-agent' }, admin);
    expect(resumed.pausedAt).toBeNull();
    const done = await bus.request(ApplySessionEvent, { id: created.id, event: 'complete' }, finance);
    expect(done.status).toBe('completed');
    expect(done.completedAt).not.toBeNull();

    const fetched = await bus.request(GetSession, { id: created.id });
    expect(fetched).toEqual(done);

    const { items } = await bus.request(ListSessionTransitions, { id: created.id });
    expect(items.map((t) => [t.from, t.to, t.event, t.actor])).toEqual([
      ['pending', 'active', 'activate', 'finance-agent'],
      ['active', 'paused', 'pause', 'finance-agent'],
      ['paused', 'active', 'resume', 'ops-admin'],
      ['active', 'completed', 'complete', 'finance-agent'],
    ]);
    expect(items[1]?.reason).toBe('waiting for approval');
  });

  it('refuses an illegal transition with the current state and allowed events, writing nothing', async () => {
    const session = await bus.request(CreateSession, { agentId: 'legal-agent', role: 'legal' });
    const error = await rpcError(bus.request(ApplySessionEvent, { id: session.id, event: 'complete', actor: 'legal-agent' }));
    expect(error.code).toBe('session_illegal_transition');
    expect(error.details).toMatchObject({ currentState: 'pending', allowedEvents: ['activate', 'fail', 'expire'] });
    const after = await bus.request(GetSession, { id: session.id });
    expect(after.version).toBe(0);
    expect((await bus.request(ListSessionTransitions, { id: session.id })).items).toHaveLength(0);
  });

  it('treats no-op events as idempotent and terminal states as absorbing', async () => {
    const session = await bus.request(CreateSession, { agentId: 'hr-agent', role: 'hr' });
    await bus.request(ApplySessionEvent, { id: session.id, event: 'activate' });
    const again = await bus.request(ApplySessionEvent, { id: session.id, event: 'activate' });
    expect(again.version).toBe(1);
    await bus.request(ApplySessionEvent, { id: session.id, event: 'fail', reason: 'crashed' });
    const error = await rpcError(bus.request(ApplySessionEvent, { id: session.id, event: 'activate' }));
    expect(error.code).toBe('session_illegal_transition');
    expect(error.details).toMatchObject({ currentState: 'failed', allowedEvents: [] });
  });

  it('answers unknown sessions, unknown events and malformed payloads with typed errors', async () => {
    const missing = await rpcError(bus.request(GetSession, { id: '00000000-0000-4000-8000-000000000000' }));
    expect(missing.code).toBe('session_not_found');
    // Bypass the client-side validation to prove the service validates too.
    const raw = await bus.nc.request(bus.subject(ApplySessionEvent.subject), JSON.stringify({ id: 'nope', event: 'explode' }), {
      timeout: 5000,
    });
    const body = raw.json<{ error: { code: string; message: string } }>();
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.message).toContain('id');
    expect(body.error.message).toContain('event');
  });

  it('returns the first result for a repeated idempotency key, without a second transition', async () => {
    const session = await bus.request(CreateSession, { agentId: 'manager-agent', role: 'manager' });
    await bus.request(ApplySessionEvent, { id: session.id, event: 'activate' });
    const first = await bus.request(ApplySessionEvent, { id: session.id, event: 'pause' }, { idempotencyKey: 'pause-1' });
    await bus.request(ApplySessionEvent, { id: session.id, event: 'resume' });
    const repeat = await bus.request(ApplySessionEvent, { id: session.id, event: 'pause' }, { idempotencyKey: 'pause-1' });
    expect(repeat).toEqual(first);
    const { items } = await bus.request(ListSessionTransitions, { id: session.id });
    expect(items.map((t) => t.event)).toEqual(['activate', 'pause', 'resume']);
  });

  it('returns the first session for a repeated idempotency key on create', async () => {
    const [a, b] = await Promise.all([
      bus.request(CreateSession, { agentId: 'idem-agent', role: 'finance' }, { idempotencyKey: 'create-1' }),
      bus.request(CreateSession, { agentId: 'idem-agent', role: 'finance' }, { idempotencyKey: 'create-1' }),
    ]);
    expect(b).toEqual(a);
    const other = await bus.request(CreateSession, { agentId: 'idem-agent', role: 'finance' }, { idempotencyKey: 'create-2' });
    expect(other.id).not.toBe(a.id);
    expect(other.contextId).not.toBe(a.contextId);
  });

  it('pages through sessions with a cursor and filters', async () => {
    const role = `pager-${Date.now()}`;
    for (let i = 0; i < 5; i++) await bus.request(CreateSession, { agentId: `pager-${i}`, role });
    const page1 = await bus.request(ListSessions, { role, limit: 2 });
    const page2 = await bus.request(ListSessions, { role, limit: 2, cursor: page1.nextCursor ?? undefined });
    const page3 = await bus.request(ListSessions, { role, limit: 2, cursor: page2.nextCursor ?? undefined });
    const ids = [...page1.items, ...page2.items, ...page3.items].map((s) => s.id);
    expect(new Set(ids).size).toBe(5);
    expect(page3.nextCursor).toBeNull();
    const bad = await rpcError(bus.request(ListSessions, { role, limit: 2, cursor: 'garbage' }));
    expect(bad.code).toBe('invalid_cursor');
    const forged = Buffer.from(JSON.stringify({ c: '2026-01-01T00:00:00Z', i: 'x' })).toString('base64url');
    expect((await rpcError(bus.request(ListSessions, { role, cursor: forged }))).code).toBe('invalid_cursor');
  });

  it('serialises 100 concurrent conflicting events into a valid FSM path ending in the stored state', async () => {
    const session = await bus.request(CreateSession, { agentId: 'race-agent', role: 'finance' });
    await bus.request(ApplySessionEvent, { id: session.id, event: 'activate' });
    const events = ['pause', 'resume', 'pause', 'resume', 'activate'] as const;
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => bus.request(ApplySessionEvent, { id: session.id, event: events[i % events.length]! })),
    );
    for (const result of results) {
      if (result.status === 'rejected') expect((result.reason as AppError).code).toBe('session_illegal_transition');
    }
    const { items } = await expectValidHistory(bus, session.id);
    const applied = results.filter((r) => r.status === 'fulfilled').length;
    expect(applied).toBeGreaterThanOrEqual(items.length - 1);
  });

  it('publishes created and transitioned events through the outbox, once each', async () => {
    const seen: string[] = [];
    const consumer = await bus.consume(SessionTransitioned, 'test-transitions', async (payload) => {
      if (payload.agentId === 'events-agent') seen.push(`${payload.from}>${payload.to}`);
    });
    const created: string[] = [];
    const createdConsumer = await bus.consume(SessionCreated, 'test-created', async (payload) => {
      if (payload.agentId === 'events-agent') created.push(payload.id);
    });
    const session = await bus.request(CreateSession, { agentId: 'events-agent', role: 'finance' });
    await bus.request(ApplySessionEvent, { id: session.id, event: 'activate' });
    await bus.request(ApplySessionEvent, { id: session.id, event: 'complete' });
    await expectEventually(() => expect(seen).toEqual(['pending>active', 'active>completed']));
    await expectEventually(() => expect(created).toEqual([session.id]));
    await consumer.stop();
    await createdConsumer.stop();
  });

  it('keeps sessions across a service restart', async () => {
    const session = await bus.request(CreateSession, { agentId: 'durable-agent', role: 'legal' });
    await bus.request(ApplySessionEvent, { id: session.id, event: 'activate' });
    await app.close();
    app = await startTestSessions(ctx);
    const after = await bus.request(GetSession, { id: session.id });
    expect(after).toMatchObject({ status: 'active', version: 1 });
    const resumed = await bus.request(ApplySessionEvent, { id: session.id, event: 'pause' });
    expect(resumed.status).toBe('paused');
  });
});
