import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { z } from 'zod';
import {
  createTestContext,
  deepJsonText,
  expectEventually,
  fuzzBudget,
  fuzzEdge,
  hostileString,
  recordProcessFaults,
  schemaValue,
  type TestContext,
} from '@orgmesh/testing';
import { createLogger } from '@orgmesh/telemetry';
// The suite the tools call runs in-process, for real: gateway (dev issuer), registry, mesh router, sessions.
import { devToken, startGatewayStack, type GatewayStack, type GatewayApp } from '@orgmesh/gateway/testing';
import { createOrgmeshMcpServer } from '../src/server/mcp.server.js';
import { createModernMcpServer } from '../src/server/modern.server.js';
import { startMcpHttpServer, type McpHttpServer } from '../src/server/http.transport.js';
import { MESH_TOOLS } from '../src/tools/mesh.tools.js';
import { McpMetrics } from '../src/server/mcp.metrics.js';
import { buildForProcesses, testPath } from './mcp-harness.js';

/** A fuzz test's timeout: its time budget in `npm run fuzz` (FUZZ_LONG=1), plus a minute for the rest. */
const FUZZ_TIMEOUT_MS = (fuzzBudget(1).timeLimitMs ?? 0) + 60_000;

const silent = createLogger({ service: 'mcp-fuzz', level: 'silent' });
const encoder = new TextEncoder();

interface HttpAnswer {
  status: number;
  text: string;
}

/**
 * What every answer of the MCP server must be (issue 17): never a 5xx; a 202 without body for a
 * notification; otherwise JSON-RPC 2.0 (a response or a batch of them) with an integer error code,
 * and never the internal error (-32603) nor a tool result reporting `internal`.
 */
function jsonRpcProblem(answer: HttpAnswer): string | undefined {
  if (answer.status >= 500) return `HTTP ${answer.status}: ${answer.text.slice(0, 200)}`;
  if (answer.status === 202 && answer.text === '') return undefined;
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return `HTTP ${answer.status} with a body that is not JSON: ${answer.text.slice(0, 200)}`;
  }
  for (const message of Array.isArray(body) ? body : [body]) {
    const m = message as {
      jsonrpc?: unknown;
      error?: { code?: unknown; message?: unknown };
      result?: unknown;
    };
    if (typeof m !== 'object' || m === null || m.jsonrpc !== '2.0')
      return `HTTP ${answer.status}, not JSON-RPC 2.0: ${answer.text.slice(0, 200)}`;
    if (m.error !== undefined) {
      if (!Number.isInteger(m.error.code) || typeof m.error.message !== 'string')
        return `malformed JSON-RPC error: ${answer.text.slice(0, 200)}`;
      if (m.error.code === -32603) return `internal error: ${answer.text.slice(0, 200)}`;
    } else if (m.result === undefined) {
      return `neither result nor error: ${answer.text.slice(0, 200)}`;
    } else {
      const result = m.result as { isError?: boolean; content?: Array<{ text?: string }> };
      if (result.isError && result.content?.[0]?.text?.startsWith('internal'))
        return `tool answered internal: ${result.content[0].text.slice(0, 200)}`;
    }
  }
  if (answer.status >= 400 && Array.isArray(body)) return `HTTP ${answer.status} with a batch body`;
  return undefined;
}

describe('orgmesh-mcp under hostile input: tools/call arguments and raw JSON-RPC bodies', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let stack: GatewayStack;
  let mcp: McpHttpServer;
  let token: string;
  const recorder = recordProcessFaults();

  async function post(body: Uint8Array | string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    const res = await fetch(mcp.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${token}`,
        ...headers,
      },
      body: typeof body === 'string' ? body : Buffer.from(body),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, text: await res.text() };
  }

  beforeAll(async () => {
    ctx = await createTestContext();
    stack = await startGatewayStack(ctx);
    gateway = stack.gateway;
    token = await devToken(gateway, 'finance-agent');
    mcp = await startMcpHttpServer({
      host: '127.0.0.1',
      port: 0,
      // A valid request_approval waits for its decision: briefly here, well under the fetch's 10 s.
      serverFor: (tokens) =>
        createOrgmeshMcpServer({ gatewayUrl: gateway.url, tokens, logger: silent, approvalWaitMs: 1_000 }),
      // The 2026-07-28 edge (ADR 0017) meets the same input.
      modernServerFor: (tokens) =>
        createModernMcpServer({ gatewayUrl: gateway.url, tokens, logger: silent, approvalWaitMs: 1_000 }),
      ownTokens: undefined,
      allowedHosts: [],
      logger: silent,
    });
  }, 60_000);

  afterAll(async () => {
    recorder.stop();
    await mcp?.close();
    await stack?.close();
    await ctx?.dispose();
  });

  const call = (name: unknown, args: unknown, id: unknown = 1) =>
    JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

  it(
    'fuzz: tools/call of every tool with hostile arguments answers a tool result or a JSON-RPC error, never internal',
    async () => {
      const toolArgs = fc.oneof(
        ...MESH_TOOLS.map((tool) =>
          fc.tuple(fc.constant(tool.name), schemaValue(z.object(tool.inputSchema))),
        ),
        // Odd but valid arguments: the calls reach the gateway and the services behind it.
        ...MESH_TOOLS.map((tool) =>
          fc.tuple(fc.constant(tool.name), schemaValue(z.object(tool.inputSchema), { mild: true })),
        ),
        fc.tuple(
          fc.constantFrom(...MESH_TOOLS.map((t) => t.name)),
          fc.oneof(fc.jsonValue({ maxDepth: 3 }), hostileString),
        ),
        fc.tuple(hostileString, fc.dictionary(hostileString, hostileString, { maxKeys: 3 })),
      );
      await fuzzEdge(
        'mcp tools/call',
        toolArgs,
        async ([name, args]) => {
          const problem = jsonRpcProblem(await post(call(name, args)));
          if (problem) throw new Error(`${name}: ${problem}`);
        },
        { ciRuns: 100 },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it.each([
    ['a deep input', call('send_task', { to: 'manager', type: 'x', input: JSON.parse(deepJsonText(60)) })],
    [
      'input nested 3,000 levels',
      `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"send_task","arguments":{"to":"legal","type":"x","input":${deepJsonText(3000)}}}}`,
    ],
    [
      'details nested 3,000 levels',
      `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"request_approval","arguments":{"to":"manager","subject":"s","details":${deepJsonText(3000, 'array')}}}}`,
    ],
    ['a NUL in a string', call('notify', { to: 'manager', message: 'a\u0000b' })],
    ['a lone surrogate', call('send_task', { to: 'legal', type: '\ud800' })],
    ['a lone surrogate in a path id', call('fetch_status', { taskId: '\udfffx' })],
    ['a NUL in an argument name', call('list_tasks', { 'a\u0000': 1 })],
    ['an unknown tool', call('no_such_tool', {})],
    ['arguments that are not an object', call('list_tasks', 'x')],
    ['an id that is an object', call('list_agents', {}, { a: 1 })],
  ])('answers tools/call with %s in JSON-RPC shape, never internal', async (_what, body) => {
    const answer = await post(body);
    expect(jsonRpcProblem(answer)).toBeUndefined();
  });

  const rawBodies = fc.oneof(
    fc.uint8Array({ maxLength: 256 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => encoder.encode(JSON.stringify(v))),
    fc
      .record(
        {
          jsonrpc: fc.oneof(fc.constant('2.0'), hostileString),
          id: fc.oneof(fc.integer(), hostileString, fc.constant(null), fc.jsonValue({ maxDepth: 2 })),
          method: fc.oneof(
            fc.constantFrom(
              'initialize',
              'tools/list',
              'tools/call',
              'ping',
              'notifications/initialized',
              'resources/list',
            ),
            hostileString,
          ),
          params: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.dictionary(hostileString, hostileString)),
        },
        { requiredKeys: [] },
      )
      .chain((m) => fc.oneof(fc.constant(m as unknown), fc.array(fc.constant(m), { maxLength: 3 })))
      .map((v) => encoder.encode(JSON.stringify(v))),
  );

  it(
    'fuzz: raw request bodies on the HTTP transport are answered in JSON-RPC shape, never 5xx',
    async () => {
      await fuzzEdge(
        'mcp http body',
        rawBodies,
        async (body) => {
          const problem = jsonRpcProblem(await post(body));
          if (problem) throw new Error(problem);
        },
        { ciRuns: 200 },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  /** A 2026-07-28 request: the envelope in `_meta`, the standard headers mirroring the body. */
  function post2026(method: string, params: Record<string, unknown>, id: unknown = 1): Promise<HttpAnswer> {
    const mirrored = typeof params['name'] === 'string' ? params['name'] : params['taskId'];
    const name =
      typeof mirrored !== 'string'
        ? undefined
        : /^[\x20-\x7e]*$/.test(mirrored)
          ? mirrored
          : `=?base64?${Buffer.from(mirrored).toString('base64')}?=`;
    return post(
      JSON.stringify({
        jsonrpc: '2.0',
        id,
        method,
        params: {
          ...params,
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientInfo': { name: 'fuzz', version: '1' },
            'io.modelcontextprotocol/clientCapabilities': {
              extensions: { 'io.modelcontextprotocol/tasks': {} },
            },
          },
        },
      }),
      {
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': method,
        ...(name === undefined ? {} : { 'mcp-name': name }),
      },
    );
  }

  it(
    'fuzz: 2026-07-28 tools/call and tasks/get|cancel|update with hostile arguments answer in JSON-RPC shape, never internal',
    async () => {
      const hostileCall = fc.oneof(
        ...MESH_TOOLS.map((tool) =>
          fc.tuple(
            fc.constant('tools/call'),
            schemaValue(z.object(tool.inputSchema)).map((args) => ({ name: tool.name, arguments: args })),
          ),
        ),
        fc.tuple(
          fc.constantFrom('tools/call', 'tasks/get', 'tasks/cancel', 'tasks/update'),
          fc.oneof(
            fc.record({ taskId: fc.oneof(hostileString, fc.uuid()) }),
            fc.record({
              name: fc.constantFrom(...MESH_TOOLS.map((t) => t.name)),
              arguments: fc.jsonValue({ maxDepth: 3 }),
            }),
            fc.dictionary(hostileString, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
          ),
        ),
      );
      await fuzzEdge(
        'mcp 2026-07-28 requests',
        hostileCall,
        async ([method, params]) => {
          const answer = await post2026(method, params as Record<string, unknown>);
          const problem = jsonRpcProblem(answer);
          if (problem) throw new Error(`${method}: ${problem}`);
        },
        { ciRuns: 100 },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it('answers 2026-07-28 bad input with the spec codes: unknown method -32601, unfit params -32602, unknown task -32602', async () => {
    const unknown = JSON.parse((await post2026('no/such/method', {})).text) as { error?: { code: number } };
    expect(unknown.error?.code).toBe(-32601);
    const unfit = JSON.parse((await post2026('tools/call', { name: 'list_tasks', arguments: 'x' })).text) as {
      error?: { code: number };
    };
    expect(unfit.error?.code).toBe(-32602);
    const noTask = JSON.parse(
      (await post2026('tasks/get', { taskId: '0b6f0d3e-6c1f-4c55-9d51-6f3f3f1b2a10' })).text,
    ) as {
      error?: { code: number; message: string };
    };
    expect(noTask.error).toMatchObject({ code: -32602, message: expect.stringContaining('Task not found') });
  });

  it('answers headers too large for node:http (a 2026-07-28 taskId mirrored into its header) in JSON-RPC shape', async () => {
    // `npm run fuzz` found it: node answered 431 with no body before any handler ran.
    const answer = await post2026('tools/call', { taskId: 'x'.repeat(20_000) });
    expect(answer.status).toBe(431);
    expect(JSON.parse(answer.text)).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32600, message: 'request headers larger than the server accepts' },
    });
  });

  it.each([
    ['empty', ''],
    ['not JSON', '{"jsonrpc":'],
    ['an empty batch', '[]'],
    ['a JSON string', '"tools/list"'],
    ['nested 3,000 levels', deepJsonText(3000, 'array')],
    [
      'params nested 3,000 levels',
      `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":${deepJsonText(3000)}}`,
    ],
    ['a hostile method', JSON.stringify({ jsonrpc: '2.0', id: 1, method: '\u0000\ud800' })],
  ])('answers a raw body that is %s with a JSON-RPC error', async (_what, body) => {
    const answer = await post(body);
    expect(jsonRpcProblem(answer)).toBeUndefined();
    expect(answer.status).toBeLessThan(500);
  });

  it.each([
    ['an unsupported protocol version', { 'mcp-protocol-version': '1999-01-01\u00e9' }, true],
    ['an Accept without JSON', { accept: 'text/html' }, true],
    ['a content type that is not JSON', { 'content-type': 'text/plain' }, true],
    // Stateless: the SDK ignores a session id, and answers the request.
    ['a session id on a stateless server', { 'mcp-session-id': '\u00ff'.repeat(300) }, false],
  ])('answers a request with %s in JSON-RPC shape, never 5xx', async (_what, headers, refused) => {
    const answer = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), headers);
    expect(answer.status >= 400).toBe(refused);
    expect(answer.status).toBeLessThan(500);
    expect(jsonRpcProblem(answer)).toBeUndefined();
  });

  it('answers a 2026-07-28 request whose Host is no URL authority in JSON-RPC shape, never 5xx', async () => {
    // fetch() sets Host itself; node:http sends what it is given. The 2026-07-28 path builds a web
    // Request, which must not take its URL from this header.
    const { port } = new URL(mcp.url);
    const answer = await new Promise<HttpAnswer>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: Number(port),
          path: '/mcp',
          method: 'POST',
          headers: {
            host: 'a b:c',
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-protocol-version': '2026-07-28',
            'mcp-method': 'tools/list',
          },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.once('error', reject);
      req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }));
    });
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(jsonRpcProblem(answer)).toBeUndefined();
  });

  it('answers a body above the size limit with 413 in JSON-RPC shape', async () => {
    const answer = await post(
      `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"${'x'.repeat(5 * 1024 * 1024)}"}}`,
    );
    expect(answer.status).toBe(413);
    expect(jsonRpcProblem(answer)).toBeUndefined();
  });

  it('still serves a normal tool call afterwards', async () => {
    const answer = await post(call('list_tasks', {}));
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.text) as { result: { isError?: boolean } };
    expect(body.result.isError ?? false).toBe(false);
  });

  it('answers a tool that fails unexpectedly with internal, without its message, counted, and keeps serving', async () => {
    const metrics = new McpMetrics();
    const broken = await startMcpHttpServer({
      host: '127.0.0.1',
      port: 0,
      serverFor: () =>
        createOrgmeshMcpServer({
          gatewayUrl: gateway.url,
          // A bug below the tools: the token source throws something no code path expects.
          tokens: { token: () => Promise.reject(new TypeError('cannot read x@example.test')) },
          logger: silent,
          metrics,
        }),
      ownTokens: undefined,
      allowedHosts: [],
      logger: silent,
      metrics,
    });
    try {
      const send = async () => {
        const res = await fetch(broken.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            authorization: 'Bearer x',
          },
          body: call('list_tasks', {}),
        });
        return {
          status: res.status,
          body: (await res.json()) as { result: { isError: boolean; content: Array<{ text: string }> } },
        };
      };
      const first = await send();
      expect(first.status).toBe(200);
      expect(first.body.result).toMatchObject({
        isError: true,
        content: [{ text: 'internal: internal error' }],
      });
      expect(JSON.stringify(first.body)).not.toContain('example.test');
      expect((await send()).status).toBe(200);
      const scraped = await (await fetch(new URL('/metrics', broken.url))).text();
      expect(scraped).toMatch(
        /orgmesh_unexpected_errors_total\{[^}]*edge="mcp-tool"[^}]*subject="list_tasks"[^}]*\} 2/,
      );
    } finally {
      await broken.close();
    }
  });

  describe('stdio', () => {
    let child: ChildProcessWithoutNullStreams;
    let stdout = '';

    beforeAll(() => {
      buildForProcesses();
      child = spawn('orgmesh-mcp', [], {
        env: {
          PATH: testPath(),
          ORGMESH_AGENT_ID: 'finance-agent',
          ORGMESH_CLIENT_ID: 'finance-agent',
          ORGMESH_CLIENT_SECRET: 'finance-agent-dev-secret',
          ORGMESH_GATEWAY_URL: gateway.url,
          LOG_LEVEL: 'silent',
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    });

    afterAll(() => {
      child?.kill('SIGTERM');
    });

    /** The JSON-RPC messages written so far, one per line. */
    const messages = () =>
      stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as { id?: unknown; error?: { code: number }; result?: unknown });

    it('answers garbage lines with parse errors, hostile tool calls with results, and keeps serving', async () => {
      const lines = [
        '{not json',
        '\u0000\u0001',
        '42',
        '[]',
        deepJsonText(3000),
        JSON.stringify({ jsonrpc: '2.0', id: 'a', method: '\ud800' }),
        `{"jsonrpc":"2.0","id":"b","method":"tools/call","params":{"name":"send_task","arguments":{"to":"legal","type":"x","input":${deepJsonText(3000)}}}}`,
        JSON.stringify({
          jsonrpc: '2.0',
          id: 'c',
          method: 'tools/call',
          params: { name: 'notify', arguments: { to: 'manager', message: 'a\u0000b' } },
        }),
        JSON.stringify({ jsonrpc: '2.0', id: 'last', method: 'tools/list' }),
      ];
      child.stdin.write(`${lines.join('\n')}\n`);
      await expectEventually(
        () => expect(['a', 'b', 'c', 'last'].every((id) => messages().some((m) => m.id === id))).toBe(true),
        { timeoutMs: 20_000 },
      );
      const byId = new Map(messages().map((m) => [m.id, m]));
      expect(byId.get('a')?.error?.code).toBe(-32601);
      for (const id of ['b', 'c']) {
        const answer = byId.get(id);
        expect(answer).toBeDefined();
        expect(answer?.error?.code).not.toBe(-32603);
      }
      // Two lines are not JSON (-32700); `42`, `[]` and the deep object are not JSON-RPC messages (-32600).
      const unreadable = messages()
        .filter((m) => m.id === null)
        .map((m) => m.error?.code);
      expect(unreadable.sort()).toEqual([-32700, -32700, -32600, -32600, -32600].sort());
      expect(child.exitCode).toBeNull();
    }, 30_000);
  });

  it('let nothing reach the process-level handlers', () => {
    expect(recorder.faults).toEqual([]);
  });
});
