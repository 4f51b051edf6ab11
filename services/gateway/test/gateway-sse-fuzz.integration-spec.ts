import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Session } from '@orgmesh/contracts';
import fc from 'fast-check';
import {
  createTestContext,
  expectEventually,
  fuzzEdge,
  hostileString,
  type TestContext,
} from '@orgmesh/testing';
import { startTestSessions } from '@orgmesh/sessions/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { api, devToken, SseClient, startTestGateway } from './gateway-harness.js';

type SessionsApp = Awaited<ReturnType<typeof startTestSessions>>;

const CONTEXTS = ['sessions', 'mesh', 'registry'] as const;

/** A cursor built from parts, so the test knows what the answer must be. */
interface CursorCase {
  /** Subscribed to sessions only (plain sequences allowed) or to every context. */
  single: boolean;
  /** `seq` alone, or `context:seq` pairs. */
  parts: Array<{ context: string | undefined; seq: string }>;
  via: 'header' | 'query';
}

/**
 * The expected answer, from the documented rules rather than the code: a plain sequence only over
 * one context; at most one pair per context; sequences are integers of at most 16 digits within
 * the safe range; a subscribed context's sequence must not pass its stream's head.
 */
function expectedStatus(c: CursorCase, heads: Record<string, number>): 200 | 400 {
  const subscribed: readonly string[] = c.single ? ['sessions'] : CONTEXTS;
  const text = cursorText(c).trim();
  if (!text) return 200;
  if (c.parts.length > 3 && c.parts.some((p) => p.context !== undefined)) return 400;
  const named = c.parts.map((p) => p.context).filter((context) => context !== undefined);
  if (new Set(named).size !== named.length) return 400;
  for (const part of c.parts) {
    const plain = part.context === undefined;
    if (plain && (c.parts.length !== 1 || !c.single)) return 400;
    if (!plain && !/^[a-z-]+$/.test(part.context ?? '')) return 400;
    if (!/^\d{1,16}$/.test(part.seq) || !Number.isSafeInteger(Number(part.seq))) return 400;
    const context = plain ? 'sessions' : (part.context as string);
    if (subscribed.includes(context) && Number(part.seq) > (heads[context] ?? 0)) return 400;
  }
  return 200;
}

function cursorText(c: CursorCase): string {
  return c.parts.map((p) => (p.context === undefined ? p.seq : `${p.context}:${p.seq}`)).join(',');
}

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

  it('answers every SSE cursor as the documented rules say: 200 up to the head, 400 invalid_cursor beyond it or when malformed', async () => {
    const heads: Record<string, number> = { sessions: sessionsHead, mesh: 0, registry: 0 };
    const seq = fc.oneof(
      fc.nat({ max: sessionsHead + 3 }).map(String),
      fc.constantFrom(
        '0',
        '00',
        '9007199254740991',
        '9007199254740992',
        '99999999999999999999',
        '1e3',
        '-1',
        '',
      ),
      fc.bigInt({ min: 0n, max: 10n ** 22n }).map(String),
    );
    const cursor: fc.Arbitrary<CursorCase> = fc.record({
      single: fc.boolean(),
      parts: fc.oneof(
        seq.map((s) => [{ context: undefined, seq: s }]),
        fc.array(
          fc.record({ context: fc.constantFrom('sessions', 'mesh', 'registry', 'privacy', 'Mesh'), seq }),
          { minLength: 1, maxLength: 4 },
        ),
      ),
      via: fc.constantFrom<CursorCase['via']>('header', 'query'),
    });
    await fuzzEdge(
      'sse cursor (structured)',
      cursor,
      async (c) => {
        const text = cursorText(c);
        const subject = c.single ? 'subject=sessions.>' : '';
        const query = c.via === 'query' ? `lastEventId=${encodeURIComponent(text)}` : '';
        const res = await refusal(
          `/v1/events?${[subject, query].filter(Boolean).join('&')}`,
          c.via === 'header' ? text : undefined,
        );
        const where = `${c.via} ${JSON.stringify(text)} over ${c.single ? 'sessions' : 'all'}`;
        expect({ where, status: res.status }).toEqual({ where, status: expectedStatus(c, heads) });
        if (res.status === 400) {
          expect(res.body).toMatchObject({
            code: 'invalid_cursor',
            issues: [{ path: c.via === 'header' ? 'header.Last-Event-ID' : 'query.lastEventId' }],
          });
        }
      },
      { ciRuns: 150 },
    );
    await fuzzEdge(
      'sse cursor (hostile text)',
      fc.tuple(
        hostileString.filter((s) => s.length <= 500),
        fc.boolean(),
      ),
      async ([text, single]) => {
        const res = await refusal(
          `/v1/events?${single ? 'subject=sessions.>&' : ''}lastEventId=${encodeURIComponent(text.replace(/[\ud800-\udfff]/g, '\ufffd'))}`,
        );
        expect([200, 400]).toContain(res.status);
        if (res.status === 400) expect(res.body['code']).toBe('invalid_cursor');
      },
      { ciRuns: 100 },
    );
    // Every stream that was opened was closed by its client, and released.
    await expectEventually(async () => expect(await openSubscriptions()).toBe(0));
  });

  it('answers HEAD like GET without holding a stream open', async () => {
    const ok = await fetch(`${gateway.url}/v1/events?subject=sessions.>`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${admin}` },
      signal: AbortSignal.timeout(5_000),
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('text/event-stream');
    expect(await ok.text()).toBe('');
    const refused = await fetch(`${gateway.url}/v1/events`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${admin}`, 'last-event-id': 'mesh:99999999999999999999' },
      signal: AbortSignal.timeout(5_000),
    });
    expect(refused.status).toBe(400);
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
    // Nothing in this file reached the HTTP server's last-resort boundary.
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/^# TYPE orgmesh_unexpected_errors_total counter$/m);
    expect(metrics).not.toMatch(/^orgmesh_unexpected_errors_total\{[^}]*\} [1-9]/m);
  });
});
