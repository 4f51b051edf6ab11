import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { GetSession, type Session } from '@orgmesh/contracts';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
// Test harnesses may cross service boundaries: the sessions service runs in-process, for real.
import { startTestSessions } from '@orgmesh/sessions/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { api, devToken, startTestGateway } from './gateway-harness.js';

type SessionsApp = Awaited<ReturnType<typeof startTestSessions>>;

describe('gateway REST → sessions service → Postgres', () => {
  let ctx: TestContext;
  let sessions: SessionsApp;
  let gateway: GatewayApp;
  let admin: string;
  let finance: string;
  let legal: string;
  let viewer: string;

  beforeAll(async () => {
    ctx = await createTestContext();
    sessions = await startTestSessions(ctx);
    gateway = await startTestGateway(ctx);
    [admin, finance, legal, viewer] = await Promise.all([
      devToken(gateway, 'admin'),
      devToken(gateway, 'finance-agent'),
      devToken(gateway, 'legal-agent'),
      devToken(gateway, 'viewer'),
    ]);
  });

  afterAll(async () => {
    await gateway?.close();
    await sessions?.close();
    await ctx?.dispose();
  });

  it('opens a session for an agent with the role taken from its token, and drives it through its lifecycle', async () => {
    const created = await api<Session>(gateway, 'POST', '/v1/sessions', {
      token: finance,
      body: { agentId: 'finance-agent', metadata: { ticket: 'Q3' } },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toBe('application/json');
    expect(created.body).toMatchObject({
      agentId: 'finance-agent',
      role: 'finance',
      status: 'pending',
      version: 0,
      metadata: { ticket: 'Q3' },
    });
    for (const key of ['id', 'contextId', 'createdAt', 'updatedAt', 'lastTransitionAt'])
      expect(created.body).toHaveProperty(key);
    for (const key of ['pausedAt', 'completedAt', 'failedAt', 'expiredAt'])
      expect(created.body).toHaveProperty(key, null);
    const id = created.body.id;

    const steps: Array<[string, string]> = [
      ['activate', 'active'],
      ['pause', 'paused'],
      ['resume', 'active'],
      ['complete', 'completed'],
    ];
    for (const [event, status] of steps) {
      const res = await api<Session>(gateway, 'PUT', `/v1/sessions/${id}/events`, {
        token: finance,
        body: { event, reason: `step ${event}` },
      });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe(status);
    }

    const fetched = await api<Session>(gateway, 'GET', `/v1/sessions/${id}`, { token: viewer });
    expect(fetched.status).toBe(200);
    expect(fetched.body).toMatchObject({ id, status: 'completed', version: 4 });
    expect(fetched.body.completedAt).not.toBeNull();

    const transitions = await api(gateway, 'GET', `/v1/sessions/${id}/transitions`, { token: finance });
    expect(transitions.status).toBe(200);
    expect(transitions.body.items.map((t: any) => [t.from, t.to, t.event, t.actor, t.reason])).toEqual([
      ['pending', 'active', 'activate', 'finance-agent', 'step activate'],
      ['active', 'paused', 'pause', 'finance-agent', 'step pause'],
      ['paused', 'active', 'resume', 'finance-agent', 'step resume'],
      ['active', 'completed', 'complete', 'finance-agent', 'step complete'],
    ]);
    expect(transitions.body.items[0]).toHaveProperty('occurredAt');
    expect(transitions.body.nextCursor).toBeNull();

    // The Postgres row is what the API said.
    const row = await sessions.db.query<{ status: string; version: number }>(
      `SELECT status, version FROM sessions.sessions WHERE id = $1`,
      [id],
    );
    expect(row.rows[0]).toMatchObject({ status: 'completed', version: 4 });
  });

  it('refuses an illegal transition with 409, the current state and the allowed events, writing nothing', async () => {
    const { body: session } = await api<Session>(gateway, 'POST', '/v1/sessions', {
      token: legal,
      body: { agentId: 'legal-agent' },
    });
    const res = await api(gateway, 'PUT', `/v1/sessions/${session.id}/events`, {
      token: legal,
      body: { event: 'resume' },
    });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body).toMatchObject({
      type: 'urn:orgmesh:problem:session_illegal_transition',
      title: 'Illegal session transition',
      status: 409,
      code: 'session_illegal_transition',
      currentState: 'pending',
      allowedEvents: ['activate', 'fail', 'expire'],
      instance: `/v1/sessions/${session.id}/events`,
    });
    expect(typeof res.body.detail).toBe('string');

    await api(gateway, 'PUT', `/v1/sessions/${session.id}/events`, { token: legal, body: { event: 'fail' } });
    const terminal = await api(gateway, 'PUT', `/v1/sessions/${session.id}/events`, {
      token: legal,
      body: { event: 'activate' },
    });
    expect(terminal.status).toBe(409);
    expect(terminal.body).toMatchObject({ currentState: 'failed', allowedEvents: [] });
    const history = await api(gateway, 'GET', `/v1/sessions/${session.id}/transitions`, { token: legal });
    expect(history.body.items.map((t: any) => t.event)).toEqual(['fail']);
  });

  it('lets an admin open a session naming the role, and lists with cursor pagination', async () => {
    // One open session per agent and context: five contexts give five sessions.
    const agentId = `pager-${randomUUID().slice(0, 8)}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await api<Session>(gateway, 'POST', '/v1/sessions', {
        token: admin,
        body: { agentId, role: 'legal', contextId: `ctx-${i}` },
      });
      expect(res.status).toBe(201);
      expect(res.body.role).toBe('legal');
      ids.push(res.body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/v1/sessions?agentId=${agentId}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await api(gateway, 'GET', query, { token: admin });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((s: Session) => s.id));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect([...seen].sort()).toEqual([...ids].sort());
  });

  it('answers 400 naming every invalid field path', async () => {
    const res = await api(gateway, 'POST', '/v1/sessions', {
      token: admin,
      body: { agentId: '', metadata: 'nope' },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    const paths = res.body.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['body.agentId', 'body.metadata']));

    const badEvent = await api(gateway, 'PUT', `/v1/sessions/not-a-uuid/events`, {
      token: admin,
      body: { event: 'explode' },
    });
    expect(badEvent.status).toBe(400);
    expect(badEvent.body.issues.map((i: { path: string }) => i.path)).toEqual(
      expect.arrayContaining(['path.id', 'body.event']),
    );

    const badQuery = await api(gateway, 'GET', '/v1/sessions?limit=0&status=sleeping', { token: admin });
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.issues.map((i: { path: string }) => i.path)).toEqual(
      expect.arrayContaining(['query.limit', 'query.status']),
    );

    const notJson = await api(gateway, 'POST', '/v1/sessions', {
      token: admin,
      rawBody: '{"agentId":',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body.issues).toEqual([{ path: 'body', message: 'not valid JSON' }]);
  });

  it('answers 404 for an unknown session, and for unknown routes, as problems', async () => {
    const missing = await api(gateway, 'GET', `/v1/sessions/${randomUUID()}`, { token: admin });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('session_not_found');
    const noRoute = await api(gateway, 'GET', '/v1/nothing-here', { token: admin });
    expect(noRoute.status).toBe(404);
    expect(noRoute.headers.get('content-type')).toBe('application/problem+json');
    const wrongMethod = await api(gateway, 'DELETE', '/v1/sessions', { token: admin });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toContain('POST');
  });

  it('replays a repeated Idempotency-Key on a session event instead of transitioning twice', async () => {
    const { body: session } = await api<Session>(gateway, 'POST', '/v1/sessions', {
      token: finance,
      body: { agentId: 'finance-agent' },
    });
    await api(gateway, 'PUT', `/v1/sessions/${session.id}/events`, {
      token: finance,
      body: { event: 'activate' },
    });
    const key = randomUUID();
    const first = await api<Session>(gateway, 'PUT', `/v1/sessions/${session.id}/events`, {
      token: finance,
      body: { event: 'pause' },
      headers: { 'idempotency-key': key },
    });
    const again = await api<Session>(gateway, 'PUT', `/v1/sessions/${session.id}/events`, {
      token: finance,
      body: { event: 'pause' },
      headers: { 'idempotency-key': key },
    });
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const history = await api(gateway, 'GET', `/v1/sessions/${session.id}/transitions`, { token: finance });
    expect(history.body.items.map((t: any) => t.event)).toEqual(['activate', 'pause']);

    const invalidKey = await api(gateway, 'PUT', `/v1/sessions/${session.id}/events`, {
      token: finance,
      body: { event: 'resume' },
      headers: { 'idempotency-key': 'has space' },
    });
    expect(invalidKey.status).toBe(400);
    expect(invalidKey.body.issues[0].path).toBe('header.Idempotency-Key');
  });

  it('POST /v1/sessions with a repeated Idempotency-Key returns the first session', async () => {
    const headers = { 'idempotency-key': `create-${Date.now()}` };
    const first = await api(gateway, 'POST', '/v1/sessions', { token: finance, body: { agentId: 'finance-agent' }, headers });
    const repeat = await api(gateway, 'POST', '/v1/sessions', { token: finance, body: { agentId: 'finance-agent' }, headers });
    expect(first.status).toBe(201);
    expect(repeat.body.id).toBe(first.body.id);
    const fresh = await api(gateway, 'POST', '/v1/sessions', { token: finance, body: { agentId: 'finance-agent' } });
    expect(fresh.body.id).not.toBe(first.body.id);
  });

  describe('authorization', () => {
    it('refuses an agent opening a session for another agent or as another role (403)', async () => {
      const otherAgent = await api(gateway, 'POST', '/v1/sessions', {
        token: finance,
        body: { agentId: 'legal-agent' },
      });
      expect(otherAgent.status).toBe(403);
      expect(otherAgent.body.code).toBe('forbidden');
      const otherRole = await api(gateway, 'POST', '/v1/sessions', {
        token: finance,
        body: { agentId: 'finance-agent', role: 'manager' },
      });
      expect(otherRole.status).toBe(403);
      expect(otherRole.body).toMatchObject({ code: 'forbidden', callerRole: 'finance', role: 'manager' });
    });

    it("refuses an agent reading or changing another role's session (403), and filters its lists to its role", async () => {
      const { body: legalSession } = await api<Session>(gateway, 'POST', '/v1/sessions', {
        token: legal,
        body: { agentId: 'legal-agent' },
      });
      expect((await api(gateway, 'GET', `/v1/sessions/${legalSession.id}`, { token: finance })).status).toBe(
        403,
      );
      expect(
        (await api(gateway, 'GET', `/v1/sessions/${legalSession.id}/transitions`, { token: finance })).status,
      ).toBe(403);
      const change = await api(gateway, 'PUT', `/v1/sessions/${legalSession.id}/events`, {
        token: finance,
        body: { event: 'fail' },
      });
      expect(change.status).toBe(403);
      expect(
        (await api<Session>(gateway, 'GET', `/v1/sessions/${legalSession.id}`, { token: legal })).body.status,
      ).toBe('pending');

      const list = await api(gateway, 'GET', '/v1/sessions?limit=500', { token: finance });
      expect(list.status).toBe(200);
      expect(list.body.items.length).toBeGreaterThan(0);
      expect(new Set(list.body.items.map((s: Session) => s.role))).toEqual(new Set(['finance']));
      expect((await api(gateway, 'GET', '/v1/sessions?role=legal', { token: finance })).status).toBe(403);
    });

    it('lets a viewer read but not write (403)', async () => {
      expect((await api(gateway, 'GET', '/v1/sessions', { token: viewer })).status).toBe(200);
      const write = await api(gateway, 'POST', '/v1/sessions', {
        token: viewer,
        body: { agentId: 'finance-agent', role: 'finance' },
      });
      expect(write.status).toBe(403);
      expect(write.body).toMatchObject({ code: 'forbidden', callerKind: 'viewer' });
    });

    it('refuses requests without a valid token (401) with a Bearer challenge', async () => {
      const none = await api(gateway, 'GET', '/v1/sessions');
      expect(none.status).toBe(401);
      expect(none.body.code).toBe('unauthenticated');
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const garbage = await api(gateway, 'GET', '/v1/sessions', { token: 'not.a.jwt' });
      expect(garbage.status).toBe(401);
      expect(garbage.headers.get('www-authenticate')).toContain('invalid_token');
    });
  });

  it("carries the caller's traceparent on to the NATS request", async () => {
    // What a service's telemetry setup does: an async context manager (no SDK needed to propagate).
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    try {
      const { body: session } = await api<Session>(gateway, 'POST', '/v1/sessions', {
        token: finance,
        body: { agentId: 'finance-agent' },
      });
      const seen: string[] = [];
      const sub = sessions.bus.nc.subscribe(sessions.bus.subject(GetSession.subject), {
        callback: (_error, msg) => void seen.push(msg.headers?.get('traceparent') ?? ''),
      });
      await sessions.bus.nc.flush();
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const res = await api(gateway, 'GET', `/v1/sessions/${session.id}`, {
        token: admin,
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      });
      expect(res.status).toBe(200);
      await expectEventually(() => expect(seen).toHaveLength(1));
      expect(seen[0]).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      sub.unsubscribe();
    } finally {
      context.disable();
    }
  });

  it('serves health, readiness and latency metrics', async () => {
    expect((await api(gateway, 'GET', '/healthz')).status).toBe(200);
    const ready = await api(gateway, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ ok: true, checks: { nats: 'ok' } });
    const metrics = await api<string>(gateway, 'GET', '/metrics');
    expect(metrics.body).toMatch(
      /orgmesh_gateway_http_request_duration_seconds_bucket\{[^}]*route="\/v1\/sessions\/\{id\}\/events"/,
    );
  });
});

describe('gateway limits and unavailable services', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let admin: string;

  beforeAll(async () => {
    ctx = await createTestContext();
    gateway = await startTestGateway(ctx, {
      GATEWAY_RATE_LIMIT_RPS: '1',
      GATEWAY_RATE_LIMIT_BURST: '3',
      GATEWAY_MAX_BODY_BYTES: '1024',
      GATEWAY_RPC_TIMEOUT: '500ms',
      GATEWAY_CORS_ORIGINS: 'https://console.example',
    });
    admin = await devToken(gateway, 'admin');
  });

  afterAll(async () => {
    await gateway?.close();
    await ctx?.dispose();
  });

  it('answers 503 with Retry-After when the owning service is not running', async () => {
    const res = await api(gateway, 'GET', `/v1/sessions/${randomUUID()}`, { token: admin });
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('unavailable');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('refuses a body over the limit with 413 before reading it', async () => {
    const token = await devToken(gateway, 'finance-agent');
    const res = await api(gateway, 'POST', '/v1/sessions', {
      token,
      body: { agentId: 'finance-agent', metadata: { blob: 'x'.repeat(4096) } },
    });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'payload_too_large', limitBytes: 1024 });
  });

  it('rate limits per client with 429 and Retry-After, without affecting other clients', async () => {
    const token = await devToken(gateway, 'legal-agent');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await api(gateway, 'GET', '/v1/sessions', { token })).status);
    expect(statuses.slice(0, 3).every((s) => s !== 429)).toBe(true);
    const limited = await api(gateway, 'GET', '/v1/sessions', { token });
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another client (admin) still has its own bucket.
    expect((await api(gateway, 'GET', '/v1/sessions', { token: admin })).status).not.toBe(429);
  });

  it('sends CORS headers only to configured origins', async () => {
    const allowed = await fetch(`${gateway.url}/v1/sessions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://console.example', 'access-control-request-method': 'POST' },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://console.example');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('Idempotency-Key');
    const other = await fetch(`${gateway.url}/healthz`, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('gateway CORS default', () => {
  it('sends no CORS headers when GATEWAY_CORS_ORIGINS is unset', async () => {
    const ctx = await createTestContext();
    const gateway = await startTestGateway(ctx);
    try {
      const res = await fetch(`${gateway.url}/healthz`, { headers: { origin: 'https://console.example' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await gateway.close();
      await ctx.dispose();
    }
  });
});
