import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Session } from '@orgmesh/contracts';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
import { startTestSessions } from '@orgmesh/sessions/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { api, devToken, SseClient, startTestGateway } from './gateway-harness.js';

type SessionsApp = Awaited<ReturnType<typeof startTestSessions>>;

describe('GET /v1/events (SSE over JetStream)', () => {
  let ctx: TestContext;
  let sessions: SessionsApp;
  let gateway: GatewayApp;
  let admin: string;
  let finance: string;
  let legal: string;
  const clients: SseClient[] = [];

  const open = async (path: string, token: string, lastEventId?: string) => {
    const client = await SseClient.open(gateway, path, { token, lastEventId });
    clients.push(client);
    return client;
  };
  const createSession = async (token: string, agentId: string) =>
    (await api<Session>(gateway, 'POST', '/v1/sessions', { token, body: { agentId } })).body;
  const apply = async (token: string, id: string, event: string) => {
    const res = await api<Session>(gateway, 'PUT', `/v1/sessions/${id}/events`, { token, body: { event } });
    expect(res.status).toBe(200);
  };

  beforeAll(async () => {
    ctx = await createTestContext();
    sessions = await startTestSessions(ctx);
    gateway = await startTestGateway(ctx, { GATEWAY_SSE_HEARTBEAT: '200ms' });
    [admin, finance, legal] = await Promise.all([
      devToken(gateway, 'admin'),
      devToken(gateway, 'finance-agent'),
      devToken(gateway, 'legal-agent'),
    ]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await gateway?.close();
    await sessions?.close();
    await ctx?.dispose();
  });

  it("streams lifecycle events with their JetStream sequence as id, an agent seeing only its own role's", async () => {
    const financeStream = await open('/v1/events?subject=sessions.v1.*', finance);
    const adminStream = await open('/v1/events?subject=sessions.>', admin);
    expect(financeStream.status).toBe(200);
    await expectEventually(() => expect(financeStream.initialId()).toBeDefined());

    const mine = await createSession(finance, 'finance-agent');
    const theirs = await createSession(legal, 'legal-agent');
    await apply(finance, mine.id, 'activate');
    await apply(legal, theirs.id, 'activate');

    await expectEventually(() => expect(adminStream.events()).toHaveLength(4));
    await expectEventually(() => expect(financeStream.events()).toHaveLength(2));
    const seen = financeStream.events();
    expect(seen.map((e) => e.event)).toEqual(['sessions.v1.created', 'sessions.v1.transitioned']);
    expect(seen[0]?.data.payload).toMatchObject({ id: mine.id, role: 'finance' });
    expect(seen[1]?.data.payload).toMatchObject({
      sessionId: mine.id,
      from: 'pending',
      to: 'active',
      actor: 'finance-agent',
    });
    expect(seen.every((e) => e.data.payload.role === 'finance')).toBe(true);
    expect(adminStream.events().some((e) => e.data.payload.role === 'legal')).toBe(true);

    // The id is the event's sequence in the SESSIONS stream.
    for (const event of seen) {
      expect(event.id).toMatch(/^\d+$/);
      expect(event.data.sequence).toBe(Number(event.id));
      const stored = await sessions.bus.jsm.streams.getMessage(sessions.bus.streamName('sessions'), {
        seq: Number(event.id),
      });
      expect(stored?.subject).toBe(sessions.bus.subject(event.event));
      expect(stored?.header.get('Nats-Msg-Id')).toBe(event.data.eventId);
    }
    // Keep-alive comments flow while idle.
    await expectEventually(() =>
      expect(financeStream.frames.some((f) => f.comment === 'keep-alive')).toBe(true),
    );
  });

  it('resumes after Last-Event-ID with exactly the events missed, in order', async () => {
    const first = await open('/v1/events?subject=sessions.v1.transitioned', finance);
    await expectEventually(() => expect(first.initialId()).toBeDefined());
    const session = await createSession(finance, 'finance-agent');
    await apply(finance, session.id, 'activate');
    await expectEventually(() => expect(first.events()).toHaveLength(1));
    const lastSeen = first.events()[0]?.id as string;
    await first.close();

    // Missed while disconnected.
    await apply(finance, session.id, 'pause');
    await apply(finance, session.id, 'resume');
    await apply(finance, session.id, 'complete');

    const resumed = await open('/v1/events?subject=sessions.v1.transitioned', finance, lastSeen);
    await expectEventually(() => expect(resumed.events()).toHaveLength(3));
    const events = resumed.events();
    expect(events.map((e) => e.data.payload.event)).toEqual(['pause', 'resume', 'complete']);
    const ids = events.map((e) => Number(e.id));
    expect(ids[0]).toBeGreaterThan(Number(lastSeen));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(resumed.initialId()).toBe(lastSeen);
  });

  it('starts at the end of the stream without Last-Event-ID (no backlog)', async () => {
    const session = await createSession(finance, 'finance-agent');
    await apply(finance, session.id, 'activate');
    // The activation is in the stream before the subscription opens: it must not be replayed.
    await expectEventually(async () => {
      const last = await sessions.bus.jsm.streams.getMessage(sessions.bus.streamName('sessions'), {
        last_by_subj: sessions.bus.subject('sessions.v1.transitioned'),
      });
      expect(last?.json<{ sessionId: string; event: string }>()).toMatchObject({
        sessionId: session.id,
        event: 'activate',
      });
    });
    const late = await open('/v1/events?subject=sessions.v1.transitioned', finance);
    await expectEventually(() => expect(late.initialId()).toBeDefined());
    const start = Number(late.initialId());
    await apply(finance, session.id, 'fail');
    await expectEventually(() => expect(late.events()).toHaveLength(1));
    expect(late.events().map((e) => e.data.payload.event)).toEqual(['fail']);
    expect(Number(late.events()[0]?.id)).toBeGreaterThan(start);
  });

  it('uses context:seq cursors over several contexts and resumes from them', async () => {
    const all = await open('/v1/events', admin);
    await expectEventually(() => expect(all.initialId()).toMatch(/^sessions:\d+,mesh:\d+,registry:\d+$/));
    const session = await createSession(finance, 'finance-agent');
    await expectEventually(() => expect(all.events().length).toBeGreaterThanOrEqual(1));
    const created = all
      .events()
      .find((e) => e.event === 'sessions.v1.created' && e.data.payload.id === session.id);
    expect(created?.id).toMatch(/^sessions:\d+,mesh:\d+,registry:\d+$/);
    await all.close();

    await apply(finance, session.id, 'activate');
    const resumed = await open('/v1/events', admin, created?.id);
    await expectEventually(() =>
      expect(resumed.events().map((e) => e.event)).toContain('sessions.v1.transitioned'),
    );
    expect(
      resumed.events().some((e) => e.event === 'sessions.v1.created' && e.data.payload.id === session.id),
    ).toBe(false);
  });

  it('refuses bad subscriptions: no token 401, unknown context or bad cursor 400', async () => {
    expect((await open('/v1/events', '')).status).toBe(401);
    const badSubject = await open('/v1/events?subject=privacy.v1.redacted', admin);
    expect(badSubject.status).toBe(400);
    expect(JSON.parse(badSubject.frames[0]?.data ?? '{}').issues[0].path).toBe('query.subject');
    const ambiguous = await open('/v1/events', admin, '42');
    expect(ambiguous.status).toBe(400);
    const garbage = await open('/v1/events?subject=sessions.>', admin, 'yesterday');
    expect(garbage.status).toBe(400);
  });
});
