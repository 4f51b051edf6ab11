import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Session } from '@orgmesh/contracts';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { startTestSessions } from '../../sessions/test/sessions-harness.js';
import type { GatewayApp } from '../src/gateway.app.js';
import { api, devToken, SseClient, startTestGateway } from './gateway-harness.js';

type SessionsApp = Awaited<ReturnType<typeof startTestSessions>>;

/** Issue 17: SSE cursors from the future or past any integer, and clients that vanish mid-stream. */
describe('GET /v1/events against hostile clients', () => {
  let ctx: TestContext;
  let sessions: SessionsApp;
  let gateway: GatewayApp;
  let admin: string;
  let finance: string;
  let sessionsHead: number;

  /** The SSE subscriptions gauge as /metrics reports it. */
  const openSubscriptions = async (): Promise<number> => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const line = /^orgmesh_gateway_event_subscriptions\{[^}]*transport="sse"[^}]*\} (\d+)/m.exec(text);
    if (!line) throw new Error('no SSE subscriptions gauge in /metrics');
    return Number(line[1]);
  };

  const refusal = async (path: string, lastEventId?: string) => {
    const res = await fetch(`${gateway.url}${path}`, {
      headers: {
        authorization: `Bearer ${admin}`,
        ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
      },
      signal: AbortSignal.timeout(5_000),
    });
    if (res.status === 200) {
      await res.body?.cancel();
      return { status: res.status, type: res.headers.get('content-type'), body: {} as Record<string, any> };
    }
    const body = res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text();
    return { status: res.status, type: res.headers.get('content-type'), body: body as Record<string, any> };
  };

  beforeAll(async () => {
    ctx = await createTestContext();
    sessions = await startTestSessions(ctx);
    gateway = await startTestGateway(ctx, { GATEWAY_SSE_HEARTBEAT: '60s' });
    [admin, finance] = await Promise.all([devToken(gateway, 'admin'), devToken(gateway, 'finance-agent')]);
    // The sessions stream exists and has a head: one session created through the gateway.
    const created = await api<Session>(gateway, 'POST', '/v1/sessions', {
      token: finance,
      body: { agentId: 'finance-agent' },
    });
    expect(created.status).toBe(201);
    sessionsHead = await expectEventually(async () => {
      const info = await sessions.bus.jsm.streams.info(sessions.bus.streamName('sessions'));
      expect(info.state.last_seq).toBeGreaterThan(0);
      return info.state.last_seq;
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await sessions?.close();
    await ctx?.dispose();
  });

  it.each([
    ['/v1/events', 'mesh:99999999999999999999', 'header.Last-Event-ID'],
    ['/v1/events?subject=sessions.>', '99999999999999999999', 'header.Last-Event-ID'],
    ['/v1/events?subject=sessions.>', '9007199254740993', 'header.Last-Event-ID'],
    ['/v1/events', 'sessions:1,mesh:x', 'header.Last-Event-ID'],
    ['/v1/events', 'sessions:1,sessions:2,sessions:3,sessions:4', 'header.Last-Event-ID'],
    ['/v1/events?subject=sessions.>&lastEventId=99999999999999999999', undefined, 'query.lastEventId'],
    ['/v1/events?lastEventId=%F0%9F%92%A5', undefined, 'query.lastEventId'],
  ])('refuses %s with Last-Event-ID %j as 400 invalid_cursor naming %s', async (path, lastEventId, where) => {
    const res = await refusal(path, lastEventId);
    expect(res.status).toBe(400);
    expect(res.type).toBe('application/problem+json');
    expect(res.body).toMatchObject({ status: 400, code: 'invalid_cursor', issues: [{ path: where }] });
  });

  it('refuses a cursor beyond the head of its stream, forged or from the future, and accepts the head itself', async () => {
    const future = await refusal('/v1/events?subject=sessions.>', String(sessionsHead + 1));
    expect(future.status).toBe(400);
    expect(future.body).toMatchObject({ code: 'invalid_cursor', issues: [{ path: 'header.Last-Event-ID' }] });
    // Over several contexts: one pair from the future is enough to refuse the whole cursor.
    const forged = await refusal('/v1/events', `sessions:${sessionsHead},mesh:0,registry:0`);
    expect(forged.status).toBe(200);
    const ahead = await refusal('/v1/events', `sessions:${sessionsHead + 1000},mesh:0,registry:0`);
    expect(ahead.status).toBe(400);
    expect(ahead.body['code']).toBe('invalid_cursor');
    // A stream nobody has published to yet (no registry service here) has its head at 0.
    const missing = await refusal('/v1/events', `sessions:0,mesh:0,registry:5`);
    expect(missing.status).toBe(400);
    expect(missing.body['code']).toBe('invalid_cursor');

    const atHead = await SseClient.open(gateway, '/v1/events?subject=sessions.>', {
      token: admin,
      lastEventId: String(sessionsHead),
    });
    try {
      expect(atHead.status).toBe(200);
      await expectEventually(() => expect(atHead.initialId()).toBe(String(sessionsHead)));
    } finally {
      await atHead.close();
    }
    await expectEventually(async () => expect(await openSubscriptions()).toBe(0));
  });

  it('releases the subscriptions of 300 clients that vanish abruptly, without waiting for an event', async () => {
    const request =
      `GET /v1/events?subject=sessions.> HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${admin}\r\n` +
      'Accept: text/event-stream\r\n\r\n';
    /** Half drop before any answer (mid-subscribe), half once their stream is open. */
    const dropAfter = (i: number): Promise<boolean> =>
      new Promise((resolve, reject) => {
        const socket = connect(gateway.httpPort, '127.0.0.1');
        let opened = false;
        socket.once('connect', () => {
          socket.write(request);
          if (i % 2 === 0) setTimeout(() => socket.destroy(), i % 7);
        });
        socket.on('data', (chunk: Buffer) => {
          if (!opened && chunk.toString('utf8').includes(': subscribed')) {
            opened = true;
            socket.destroy();
          }
        });
        socket.once('error', reject);
        socket.once('close', () => resolve(opened));
      });

    // Some streams stay open at once, so the gauge demonstrably counts them before they go.
    const held = await Promise.all(
      Array.from({ length: 10 }, () =>
        SseClient.open(gateway, '/v1/events?subject=sessions.>', { token: admin }),
      ),
    );
    await expectEventually(async () => expect(await openSubscriptions()).toBe(10));
    let opened = 0;
    for (let batch = 0; batch < 6; batch += 1) {
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => dropAfter(batch * 50 + i)));
      opened += results.filter(Boolean).length;
    }
    expect(opened).toBeGreaterThanOrEqual(150);
    await Promise.all(held.map((client) => client.close()));
    // No event is published from here on: release must come from the sockets closing.
    await expectEventually(async () => expect(await openSubscriptions()).toBe(0), { timeoutMs: 5_000 });
    const stream = await sessions.bus.jsm.streams.info(sessions.bus.streamName('sessions'));
    expect(stream.state.last_seq).toBe(sessionsHead);
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
  });
});
