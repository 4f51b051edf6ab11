import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { createTestContext, fuzzEdge, hostileString, type TestContext } from '@orgmesh/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { devToken, startGatewayStack, type GatewayStack } from './gateway-harness.js';

/** Every code an A2A endpoint may answer with: JSON-RPC's, A2A's, and orgmesh's (ADR 0018). */
const KNOWN_CODES = new Set([
  -32700, -32600, -32601, -32602, -32001, -32002, -32003, -32004, -32005, -32006, -32007, -32008, -32009,
  -32040, -32041, -32050,
]);

const METHODS = [
  'SendMessage',
  'SendStreamingMessage',
  'GetTask',
  'ListTasks',
  'CancelTask',
  'SubscribeToTask',
  'CreateTaskPushNotificationConfig',
  'GetTaskPushNotificationConfig',
  'ListTaskPushNotificationConfigs',
  'DeleteTaskPushNotificationConfig',
  'GetExtendedAgentCard',
  'message/send',
  'message/stream',
  'tasks/get',
  'tasks/cancel',
  'tasks/resubscribe',
  'tasks/pushNotificationConfig/set',
];

const hostile = fc.oneof(hostileString, fc.string(), fc.uuid(), fc.constant(''));
const part = fc.oneof(
  fc.record({ text: hostile }),
  fc.record({ kind: fc.constant('text'), text: hostile }),
  fc.record({ data: fc.jsonValue() }),
  fc.record({ url: hostile }),
  fc.jsonValue(),
);
const message = fc.record(
  {
    messageId: hostile,
    role: fc.oneof(fc.constantFrom('ROLE_USER', 'user', 'agent', 'ROLE_UNSPECIFIED'), hostile),
    kind: fc.constant('message'),
    parts: fc.array(part, { maxLength: 3 }),
    contextId: hostile,
    taskId: hostile,
    metadata: fc.oneof(fc.jsonValue(), fc.record({ role: hostile, type: hostile, priority: hostile })),
  },
  { requiredKeys: [] },
);
const params = fc.oneof(
  fc.record(
    {
      message,
      configuration: fc.record(
        {
          returnImmediately: fc.boolean(),
          blocking: fc.boolean(),
          historyLength: fc.oneof(fc.integer(), fc.double()),
          taskPushNotificationConfig: fc.record({ url: hostile, token: hostile }, { requiredKeys: [] }),
        },
        { requiredKeys: [] },
      ),
      metadata: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      id: hostile,
      taskId: hostile,
      historyLength: fc.oneof(fc.integer(), fc.double(), hostile),
      pageSize: fc.oneof(fc.integer(), hostile),
      pageToken: hostile,
      url: hostile,
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue(),
);
const request = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record(
        {
          jsonrpc: fc.oneof(
            { weight: 9, arbitrary: fc.constant('2.0') },
            { weight: 1, arbitrary: fc.jsonValue() },
          ),
          id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.jsonValue()),
          method: fc.oneof(
            { weight: 6, arbitrary: fc.constantFrom(...METHODS) },
            { weight: 1, arbitrary: hostile },
          ),
          params,
        },
        { requiredKeys: ['jsonrpc', 'method'] },
      )
      .map((body) => JSON.stringify(body)),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    ),
  },
);

describe('A2A JSON-RPC under hostile input', () => {
  let ctx: TestContext;
  let stack: GatewayStack;
  let gateway: GatewayApp;
  let token: string;

  beforeAll(async () => {
    ctx = await createTestContext();
    // No agent answers here: a valid blocking SendMessage waits out the blocking timeout (30 s by
    // default), which the 5 s hang check would call a hang (`npm run fuzz` drew one). 2 s keeps a
    // legitimate wait inside it, and still exercises the blocking path.
    stack = await startGatewayStack(ctx, {
      sessions: false,
      gateway: { GATEWAY_A2A_BLOCKING_TIMEOUT: '2s' },
    });
    gateway = stack.gateway;
    token = await devToken(gateway, 'manager-agent');
  });

  afterAll(async () => {
    await stack?.close();
    await ctx?.dispose();
  });

  it('answers every request with a JSON-RPC envelope of a known code, a result, or a stream: never a 5xx, never a hang', async () => {
    await fuzzEdge(
      'a2a POST /a2a/{agentId}',
      fc.tuple(
        request,
        fc.constantFrom('/a2a/legal-agent', '/a2a'),
        fc.constantFrom(undefined, '1.0', '0.3', '2.0'),
      ),
      async ([body, path, version]) => {
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort(), 5_000);
        try {
          const res = await fetch(`${gateway.url}${path}`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': 'application/json',
              ...(version ? { 'A2A-Version': version } : {}),
            },
            body,
            signal: abort.signal,
          });
          expect({ status: res.status, body }).toEqual({ status: expect.any(Number), body });
          expect(res.status).toBeLessThan(500);
          const type = res.headers.get('content-type') ?? '';
          if (type.startsWith('text/event-stream')) {
            // A stream opened (a valid streaming call): its first frame is an envelope too.
            const reader = res.body?.getReader();
            const first = await reader?.read();
            const frame = new TextDecoder().decode(first?.value ?? new Uint8Array());
            expect(frame).toMatch(/^(data|event): /m);
            abort.abort();
            return;
          }
          const text = await res.text();
          if (res.status !== 200) {
            // The gateway's own refusals (413 too large, 429) are problem+json.
            expect(type).toContain('problem+json');
            return;
          }
          const envelope = JSON.parse(text) as {
            jsonrpc: string;
            result?: unknown;
            error?: { code: number; message: string };
          };
          expect(envelope.jsonrpc).toBe('2.0');
          if (envelope.error) {
            expect({ code: envelope.error.code, known: KNOWN_CODES.has(envelope.error.code) }).toEqual({
              code: envelope.error.code,
              known: true,
            });
            expect(envelope.error.message).not.toBe('internal error');
          } else {
            expect(envelope).toHaveProperty('result');
          }
        } finally {
          clearTimeout(timer);
        }
      },
      { ciRuns: 150 },
    );
    // And the gateway still answers a well-formed request afterwards.
    const res = await fetch(`${gateway.url}/a2a/legal-agent`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'A2A-Version': '1.0' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: randomUUID() } }),
    });
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32001);
  }, 120_000);
  it('refuses a message:send whose parts are not objects with 400, where the SDK answered 500 (npm run fuzz)', async () => {
    for (const body of [
      '{"message":{"parts":[null]}}',
      '{"message":{"messageId":"m","parts":[1,"x"]}}',
      '{"message":',
    ]) {
      const res = await fetch(`${gateway.url}/a2a/legal-agent/rest/message:send`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'A2A-Version': '1.0',
        },
        body,
      });
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(await res.json()).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
    }
  });

  it('reads a REST message:send body within the gateway body limit: larger is 413, as on every route', async () => {
    const res = await fetch(`${gateway.url}/a2a/legal-agent/rest/message:send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'A2A-Version': '1.0' },
      body: JSON.stringify({ message: { messageId: 'big', parts: [{ text: 'x'.repeat(1_100_000) }] } }),
    });
    expect(res.status).toBe(413);
  });

  it('answers the HTTP+JSON binding with its own error bodies or the gateway’s problems: never a 5xx, never a hang', async () => {
    // Lone surrogates cannot be percent-encoded: made well-formed first (the server sees UTF-8 anyway).
    const segment = fc
      .oneof(hostile, fc.uuid())
      .map((v) => encodeURIComponent(v.replace(/[\uD800-\uDFFF]/g, '\uFFFD')));
    const suffix = fc.oneof(
      fc.constantFrom('/message:send', '/message:stream', '/tasks', '/extendedAgentCard'),
      segment.map((id) => `/tasks/${id}`),
      fc
        .tuple(segment, fc.constantFrom(':cancel', ':subscribe', ''))
        .map(([id, verb]) => `/tasks/${id}${verb}`),
      segment.map((x) => `/${x}`),
    );
    const statuses = new Map<number, number>();
    await fuzzEdge(
      'a2a REST /a2a/{agentId}/rest',
      fc.oneof(
        // One case in ten is a plain, valid list call, so the binding's own 2xx is always among the
        // answers (CI once drew 150 cases without one and the not-vacuous check below failed).
        {
          weight: 1,
          arbitrary: fc.constant({
            method: 'GET' as const,
            path: '/a2a/legal-agent/rest/tasks',
            query: '',
            type: 'application/json',
            body: '',
          }),
        },
        {
          weight: 9,
          arbitrary: fc.record({
            method: fc.constantFrom('GET', 'POST'),
            path: fc
              .tuple(fc.constantFrom('/a2a/legal-agent/rest', '/a2a/rest'), suffix)
              .map(([p, x]) => p + x),
            query: fc.oneof(
              fc.constant(''),
              fc.constantFrom('?pageSize=0', '?pageSize=abc', '?historyLength=-1', '?status=BOGUS'),
            ),
            type: fc.constantFrom('application/json', 'application/a2a+json', 'text/plain'),
            body: fc.oneof(
              fc.jsonValue().map((v) => JSON.stringify(v)),
              fc.string(),
              params.map((v) => JSON.stringify(v)),
            ),
          }),
        },
      ),
      async ({ method, path, query, type, body }) => {
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort(), 5_000);
        try {
          const res = await fetch(`${gateway.url}${path}${query}`, {
            method,
            headers: { authorization: `Bearer ${token}`, 'content-type': type, 'A2A-Version': '1.0' },
            body: method === 'POST' ? body : undefined,
            signal: abort.signal,
          });
          expect({ path, method, status: res.status }).toEqual({ path, method, status: expect.any(Number) });
          expect({ path, method, status: res.status < 500 }).toEqual({ path, method, status: true });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
            abort.abort();
            return;
          }
          await res.text();
        } finally {
          clearTimeout(timer);
        }
      },
      { ciRuns: 150 },
    );
    // Not vacuous: the binding itself answered (successes and its own refusals), not only the router.
    expect([...statuses.keys()].some((code) => code >= 200 && code < 300)).toBe(true);
    expect([...statuses.keys()].some((code) => code === 400 || code === 415)).toBe(true);
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(statuses.get(404) ?? 0).toBeLessThan(total);
  }, 120_000);
});
