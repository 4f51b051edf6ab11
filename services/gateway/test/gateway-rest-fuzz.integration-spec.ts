import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { ERROR_CODES, type Session, type Task } from '@orgmesh/contracts';
import {
  createTestContext,
  expectEventually,
  fuzzEdge,
  type FuzzEdgeResult,
  type TestContext,
} from '@orgmesh/testing';
// Every service runs in-process, for real, each trusting the gateway's built-in issuer through its JWKS.
import { DEMO_ORG_CHART } from '@orgmesh/registry/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { api, devToken, startGatewayStack, type GatewayStack } from './gateway-harness.js';
import { rawRequests, requestsFor, type FuzzRequest } from './rest-fuzz.arbitraries.js';

type Json = Record<string, any>;

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
/**
 * Cases per operation in `npm test` (about 30 operations): more for writes, where hostile input can
 * reach storage. `npm run fuzz` runs each operation for its time budget instead.
 */
const CI_RUNS = { read: 16, write: 40 };
/** A request that takes longer than this is a hang, whatever it was. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Creates and the list that shows what they stored: a refused create must leave nothing there. */
const CREATES: Record<string, 'sessions' | 'tasks'> = {
  createSession: 'sessions',
  sendTask: 'tasks',
  requestApproval: 'tasks',
  notify: 'tasks',
};

/**
 * Sends raw bytes, half-closes, and returns everything the server wrote before closing the
 * connection; rejects if it is still open after `timeoutMs` (a hang). A reset is an answer too.
 */
function exchange(port: number, request: string | Buffer, timeoutMs = REQUEST_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no end of answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

/** The first response in raw bytes: status, lower-cased headers, and its body by Content-Length. */
function firstResponse(
  raw: string,
): { status: number; headers: Map<string, string>; body: string } | undefined {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = raw.slice(0, end).split('\r\n');
  const status = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1];
  if (!status) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const length = Number(headers.get('content-length') ?? '0');
  const body = Buffer.from(raw.slice(end + 4), 'latin1')
    .subarray(0, length)
    .toString('utf8');
  return { status: Number(status), headers, body };
}

/**
 * Issue 17: every operation of the OpenAPI document, fed hostile requests, with the real services
 * behind the gateway. An answer is never 5xx and never hangs; every 4xx is problem+json with a known
 * code and its own status; a refused create stores nothing; the gateway keeps answering. An uncaught
 * exception or unhandled rejection anywhere in this process fails the running test (jest-circus
 * reports both), and the gateway's last-resort counter must stay at zero.
 */
describe('REST fuzz over every OpenAPI operation', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let stack: GatewayStack;
  let doc: Json;
  const tokens: Record<string, string> = {};
  const fixtures: Record<string, string[]> = {};

  const tokenFor = (kind: FuzzRequest['tokenKind']): string | undefined =>
    kind === 'none' ? undefined : kind === 'garbage' ? 'eyJhbGciOiJub25lIn0.e30.' : tokens[kind];

  /** The ids of everything the admin sees in a list, page by page. */
  const listed = async (list: 'sessions' | 'tasks'): Promise<Set<string>> => {
    const ids = new Set<string>();
    let cursor: string | null = null;
    do {
      const query: string = `?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await api<{ items: Array<{ id: string }>; nextCursor: string | null }>(
        gateway,
        'GET',
        `/v1/${list}${query}`,
        { token: tokens['admin'] },
      );
      expect(res.status).toBe(200);
      for (const item of res.body.items) ids.add(item.id);
      cursor = res.body.nextCursor;
    } while (cursor);
    return ids;
  };

  const unexpectedErrors = async (): Promise<number> => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    return [...text.matchAll(/^orgmesh_unexpected_errors_total\{[^}]*\} (\d+)/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
  };

  async function send(request: FuzzRequest): Promise<{ status: number; type: string; text: string }> {
    const headers: Record<string, string> = { ...request.headers };
    const token = tokenFor(request.tokenKind);
    if (token) headers['authorization'] = `Bearer ${token}`;
    const res = await fetch(`${gateway.url}${request.path}`, {
      method: request.method,
      headers,
      // Bytes, so fetch adds no Content-Type of its own when the case sends none.
      body: request.body === undefined ? undefined : Buffer.from(request.body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const type = res.headers.get('content-type') ?? '';
    if (type.startsWith('text/event-stream')) {
      await res.body?.cancel();
      return { status: res.status, type, text: '' };
    }
    return { status: res.status, type, text: await res.text() };
  }

  /** The shape every answer must have; returns the status. */
  function checkAnswer(request: FuzzRequest, answer: { status: number; type: string; text: string }): void {
    const where = request.label;
    expect({ where, status: answer.status < 500 }).toEqual({ where, status: true });
    if (answer.status < 400) return;
    expect({ where, type: answer.type }).toEqual({ where, type: 'application/problem+json' });
    const problem = JSON.parse(answer.text) as Json;
    expect({ where, known: (ERROR_CODES as readonly string[]).includes(problem['code']) }).toEqual({
      where,
      known: true,
    });
    expect({ where, status: problem['status'] }).toEqual({ where, status: answer.status });
  }

  beforeAll(async () => {
    ctx = await createTestContext();
    stack = await startGatewayStack(ctx);
    gateway = stack.gateway;
    const [admin, agent, manager] = await Promise.all([
      devToken(gateway, 'admin'),
      devToken(gateway, 'finance-agent'),
      devToken(gateway, 'manager-agent'),
    ]);
    Object.assign(tokens, { admin, agent, manager });
    doc = (await api(gateway, 'GET', '/openapi.json')).body as Json;
    // Real ids, so hostile siblings get past the router and the lookups to the code behind them.
    const imported = await api(gateway, 'POST', '/v1/org/import', {
      token: admin,
      rawBody: readFileSync(DEMO_ORG_CHART, 'utf8'),
      headers: { 'content-type': 'text/csv' },
    });
    expect(imported.status).toBe(200);
    const session = await api<Session>(gateway, 'POST', '/v1/sessions', {
      token: agent,
      body: { agentId: 'finance-agent' },
    });
    const task = await api<Task>(gateway, 'POST', '/v1/tasks', {
      token: manager,
      body: { to: 'finance', type: 'fixture' },
    });
    const approval = await api<Task>(gateway, 'POST', '/v1/approvals', {
      token: agent,
      body: { to: 'manager', subject: 'fixture' },
    });
    const profile = await api(gateway, 'GET', '/v1/profiles?role=finance', { token: admin });
    fixtures['id'] = [
      session.body.id,
      task.body.id,
      approval.body.id,
      'finance-agent',
      'u00004',
      String(profile.body.profile?.id ?? 'finance-default'),
    ];
  });

  afterAll(async () => {
    await stack?.close();
    await ctx?.dispose();
  });

  it('answers every operation with a 2xx or a well-formed 4xx, never a 5xx or a hang, and stores nothing it refused', async () => {
    // FUZZ_REST_OPS=createSession,sendTask narrows a long run (npm run fuzz) to some operations.
    const only = process.env['FUZZ_REST_OPS']?.split(',');
    const operations = Object.entries(doc['paths'] as Record<string, Json>)
      .flatMap(([path, item]) =>
        METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] as Json })),
      )
      .filter(({ op }) => !only || only.includes(op['operationId'] as string));
    expect(operations.length).toBeGreaterThanOrEqual(only ? 1 : 25);
    const results: FuzzEdgeResult[] = [];
    const failures: string[] = [];
    for (const { path, method, op } of operations) {
      const creates = CREATES[op['operationId'] as string];
      const before = creates ? await listed(creates) : new Set<string>();
      // A 2xx may answer with an existing record (an open session for the same agent and context):
      // what must match is the set of ids, not the number of answers.
      const accepted = new Set<string>();
      // In long mode fast-check stops at its time limit without awaiting the case in flight; that
      // case still runs to its end here, and its answer is checked and counted like the others.
      const inFlight = new Set<Promise<void>>();
      try {
        results.push(
          await fuzzEdge(
            `rest ${method.toUpperCase()} ${path}`,
            requestsFor(doc, path, method, op, fixtures),
            async (request) => {
              const run = (async () => {
                const answer = await send(request);
                if (creates && answer.status < 300)
                  accepted.add((JSON.parse(answer.text) as { id: string }).id);
                checkAnswer(request, answer);
              })();
              inFlight.add(run);
              try {
                await run;
              } finally {
                inFlight.delete(run);
              }
            },
            { ciRuns: method === 'get' ? CI_RUNS.read : CI_RUNS.write },
          ),
        );
      } catch (error) {
        failures.push(error instanceof Error ? error.message.slice(0, 3_000) : String(error));
      }
      for (const outcome of await Promise.allSettled([...inFlight])) {
        if (outcome.status === 'rejected') failures.push(String(outcome.reason).slice(0, 3_000));
      }
      if (creates) {
        // Every refused create left nothing behind: the list grew by exactly what was accepted.
        const expected = [...accepted].filter((id) => !before.has(id)).sort();
        await expectEventually(async () => {
          const stored = [...(await listed(creates))].filter((id) => !before.has(id)).sort();
          // What was stored without being accepted, shown whole: it names the request that wrote it.
          const unaccepted = await Promise.all(
            stored
              .filter((id) => !accepted.has(id))
              .map(
                async (id) =>
                  (await api(gateway, 'GET', `/v1/${creates}/${id}`, { token: tokens['admin'] })).body,
              ),
          );
          expect({ op: op['operationId'], stored, unaccepted }).toEqual({
            op: op['operationId'],
            stored: expected,
            unaccepted: [],
          });
        });
      }
      expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    }
    expect(failures).toEqual([]);
    expect(await unexpectedErrors()).toBe(0);
    const cases = results.reduce((sum, r) => sum + r.cases, 0);
    expect(cases).toBeGreaterThanOrEqual(operations.length * CI_RUNS.read);
  });

  it('answers hostile HTTP/1.1 framing with a well-formed response or a closed connection, never a 5xx or a hang', async () => {
    const paths = Object.keys(doc['paths'] as Json).filter((path) => !path.startsWith('/v1/events'));
    await fuzzEdge(
      'http framing (raw socket)',
      rawRequests(paths, tokens['admin'] as string),
      async (request) => {
        const raw = await exchange(gateway.httpPort, request.bytes);
        if (!raw) return; // closed without a word: allowed for a connection the parser gave up on
        const response = firstResponse(raw);
        const where = request.label;
        expect({ where, wellFormed: response !== undefined }).toEqual({ where, wellFormed: true });
        if (!response) return;
        expect({ where, status: response.status < 500 }).toEqual({ where, status: true });
        if (response.status < 400 || request.method === 'HEAD') return;
        expect({ where, type: response.headers.get('content-type') }).toEqual({
          where,
          type: 'application/problem+json',
        });
        const problem = JSON.parse(response.body) as Json;
        expect({
          where,
          code: (ERROR_CODES as readonly string[]).includes(problem['code']),
          status: problem['status'],
        }).toEqual({
          where,
          code: true,
          status: response.status,
        });
      },
      { ciRuns: 150 },
    );
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    expect(await unexpectedErrors()).toBe(0);
  });

  describe('the reproductions of issue 17 (HTTP edge)', () => {
    it("gives Node's own 431 for a URL over 16 KB a problem+json body", async () => {
      const response = await exchange(
        gateway.httpPort,
        `GET /v1/tasks?contextId=${'a'.repeat(17_000)} HTTP/1.1\r\nHost: gateway\r\n\r\n`,
      );
      expect(response).toMatch(/^HTTP\/1\.1 431 /);
      expect(response).toMatch(/\r\nContent-Type: application\/problem\+json\r\n/);
      const problem = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as Json;
      expect(problem).toMatchObject({ status: 431, code: 'payload_too_large' });
      expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    });

    it("gives Node's own 400 for control characters in a header a problem+json body", async () => {
      const response = await exchange(
        gateway.httpPort,
        `GET /v1/tasks HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${tokens['admin']}\u0007\r\n\r\n`,
      );
      expect(response).toMatch(/^HTTP\/1\.1 400 /);
      expect(response).toMatch(/\r\nConnection: close\r\n/);
      const problem = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as Json;
      expect(problem).toMatchObject({ status: 400, code: 'validation_failed' });
    });

    it('answers 405 with its own code and an Allow header', async () => {
      const res = await api(gateway, 'DELETE', '/v1/tasks', { token: tokens['admin'] });
      expect(res.status).toBe(405);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.headers.get('allow')).toBe('POST, GET');
      expect(res.body).toMatchObject({ status: 405, code: 'method_not_allowed' });
    });

    it('refuses an empty Idempotency-Key with 400 naming the header, and creates nothing', async () => {
      const contextId = `ctx-${randomUUID()}`;
      const res = await api(gateway, 'POST', '/v1/tasks', {
        token: tokens['agent'],
        body: { to: 'manager', type: 'review', contextId },
        headers: { 'idempotency-key': '' },
      });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        code: 'validation_failed',
        issues: [{ path: 'header.Idempotency-Key' }],
      });
      const listed = await api(gateway, 'GET', `/v1/tasks?contextId=${contextId}`, {
        token: tokens['admin'],
      });
      expect(listed.status).toBe(200);
      expect(listed.body.items).toEqual([]);
    });

    it.each([
      ['POST', '/v1/tasks', { to: 'finance', type: '\u0000' }],
      ['POST', '/v1/tasks', { to: 'finance', type: 'review', input: { a: 'x\ud800y' } }],
      ['POST', '/v1/approvals', { to: 'manager', subject: 'a\u0000b' }],
      ['POST', '/v1/notifications', { to: 'manager', message: '\udfff' }],
      ['GET', '/v1/tasks?contextId=%00', undefined],
      ['GET', '/v1/users/abc%00def', undefined],
      [
        'GET',
        `/v1/tasks?cursor=${Buffer.from('{"c":"2026-01-01T00:00:00Z","i":"x"}').toString('base64url')}`,
        undefined,
      ],
    ] as const)('answers %s %j (issue 17: once a 500) with a 4xx problem', async (method, path, body) => {
      const res = await api(gateway, method, path, { token: tokens['admin'], ...(body ? { body } : {}) });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    });

    it.each(['input', 'metadata'])(
      'refuses JSON nested 3,000 levels in %s with a 4xx problem',
      async (field) => {
        const nested = `${'{"a":'.repeat(3_000)}1${'}'.repeat(3_000)}`;
        const [path, body] =
          field === 'input'
            ? ['/v1/tasks', `{"to":"finance","type":"review","input":${nested}}`]
            : ['/v1/sessions', `{"agentId":"finance-agent","metadata":${nested}}`];
        const res = await api(gateway, 'POST', path, {
          token: tokens['admin'],
          rawBody: body,
          headers: { 'content-type': 'application/json' },
        });
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(res.headers.get('content-type')).toBe('application/problem+json');
      },
    );
  });
});
