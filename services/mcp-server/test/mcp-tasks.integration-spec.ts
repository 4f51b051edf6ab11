import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import {
  Client as ModernClient,
  ProtocolError,
  StreamableHTTPClientTransport as ModernHttpTransport,
} from '@modelcontextprotocol/client';
import { StdioClientTransport as ModernStdioTransport } from '@modelcontextprotocol/client/stdio';
import {
  createTaskSessionFromClient,
  resultFromTaskOutcome,
  type JsonRpcResponse,
} from '@modelcontextprotocol/ext-tasks/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { z } from 'zod';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  ErrorCode,
  LATEST_PROTOCOL_VERSION,
  McpError,
  type CallToolResult,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import type { Task } from '@orgmesh/contracts';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
// The whole suite runs in-process, for real: gateway (dev issuer), registry, mesh router, sessions.
import {
  api,
  devToken,
  startGatewayStack,
  type GatewayStack,
  type GatewayApp,
} from '@orgmesh/gateway/testing';
import { buildForProcesses, startHttpServer, testPath } from './mcp-harness.js';

/** A JSON-RPC answer as it comes over the wire. */
interface RawAnswer {
  readonly id?: unknown;
  readonly result?: Record<string, unknown>;
  readonly error?: { code: number; message: string };
}

/**
 * ADR 0017: approvals as MCP tasks (2025-11-25 `tasks`, the revision the official SDK 1.32.2 serves)
 * for clients that ask for one, the blocking fallback for those that do not, and the protocol
 * revisions orgmesh-mcp answers. Every client here is the official SDK's; every decision is made
 * by the manager agent through the gateway's REST API, as another agent would.
 */
describe('orgmesh-mcp approvals as MCP tasks, and the protocol revisions it serves', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let stack: GatewayStack;
  let managerToken: string;
  const clients: Client[] = [];
  const children: Array<{ kill(signal: NodeJS.Signals): boolean }> = [];
  let finance: Client;
  /** A second orgmesh-mcp, over HTTP in its own process: it holds nothing the first one made. */
  let financeHttp: Client;
  let httpUrl: string;

  const FINANCE = {
    ORGMESH_AGENT_ID: 'finance-agent',
    ORGMESH_CLIENT_SECRET: 'finance-agent-dev-secret',
    MCP_TASK_POLL_INTERVAL: '100ms',
    LOG_LEVEL: 'silent',
  };

  async function stdioClient(env: Record<string, string>): Promise<Client> {
    const client = new Client({ name: 'orgmesh-mcp-tasks-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: 'orgmesh-mcp',
        args: [],
        env: { ...env, ORGMESH_GATEWAY_URL: gateway.url, PATH: testPath() },
        stderr: 'ignore',
      }),
    );
    clients.push(client);
    return client;
  }

  async function httpClient(url: string): Promise<Client> {
    const client = new Client({ name: 'orgmesh-mcp-tasks-http-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    clients.push(client);
    return client;
  }

  const approvalArgs = (extra: Record<string, unknown> = {}) => ({
    to: 'manager',
    subject: `Q1 budget ${randomUUID()}`,
    details: { amount: 12_500 },
    ...extra,
  });

  /** The manager agent decides through the gateway, as any other agent would. */
  async function decide(taskId: string, decision: 'approve' | 'reject', comment: string): Promise<void> {
    const res = await api(gateway, 'POST', `/v1/tasks/${taskId}/decision`, {
      token: managerToken,
      body: { decision, comment },
    });
    expect(res.status).toBe(200);
  }

  async function meshTask(taskId: string): Promise<Task> {
    const res = await api<Task>(gateway, 'GET', `/v1/tasks/${taskId}?includeHistory=false`, {
      token: managerToken,
    });
    expect(res.status).toBe(200);
    return res.body;
  }

  /** A task-augmented tools/call as the 2025-11-25 spec frames it: `params.task`. */
  async function createApprovalTask(client: Client, args = approvalArgs()) {
    const { task } = await client.request(
      { method: 'tools/call', params: { name: 'request_approval', arguments: args, task: { ttl: 60_000 } } },
      CreateTaskResultSchema,
    );
    return task;
  }

  const textOf = (result: CallToolResult) =>
    result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

  beforeAll(async () => {
    buildForProcesses();
    ctx = await createTestContext();
    stack = await startGatewayStack(ctx);
    gateway = stack.gateway;
    managerToken = await devToken(gateway, 'engineering-manager-agent');
    finance = await stdioClient(FINANCE);
    const http = await startHttpServer({ ...FINANCE, ORGMESH_GATEWAY_URL: gateway.url });
    children.push(http.child);
    httpUrl = http.url;
    financeHttp = await httpClient(httpUrl);
  });

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    for (const child of children) child.kill('SIGTERM');
    await stack?.close();
    await ctx?.dispose();
  });

  describe('protocol revisions', () => {
    it('negotiates 2025-11-25 with the official client and declares tool-call tasks', async () => {
      const transport = new StreamableHTTPClientTransport(new URL(httpUrl));
      const client = new Client({ name: 'revision-test', version: '1.0.0' });
      await client.connect(transport);
      clients.push(client);
      expect(LATEST_PROTOCOL_VERSION).toBe('2025-11-25');
      expect(transport.protocolVersion).toBe('2025-11-25');
      expect(client.getServerCapabilities()?.tasks).toEqual({
        list: {},
        cancel: {},
        requests: { tools: { call: {} } },
      });
      const { tools } = await client.listTools();
      const approval = tools.find((t) => t.name === 'request_approval');
      expect(approval?.execution).toEqual({ taskSupport: 'optional' });
      // Every other tool answers at once, as before.
      expect(tools.filter((t) => t.execution?.taskSupport === 'optional').map((t) => t.name)).toEqual([
        'request_approval',
      ]);
    });

    /** One raw JSON-RPC request over HTTP, as a client of another SDK or revision would send it. */
    async function rawPost(body: unknown, headers: Record<string, string> = {}) {
      const res = await fetch(httpUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as RawAnswer) : undefined };
    }

    const initialize = (protocolVersion: string) => ({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });

    it('still serves an older revision (2025-06-18) as that revision', async () => {
      const answer = await rawPost(initialize('2025-06-18'));
      expect(answer.status).toBe(200);
      expect(answer.body?.['result']).toMatchObject({ protocolVersion: '2025-06-18' });
    });

    it('answers a 2026-07-28 initialize with 2025-11-25, and a claim-less server/discover with -32601', async () => {
      // `initialize` is the 2025 handshake: its version negotiation answers the newest 2025-era
      // revision. 2026-07-28 clients probe with server/discover and the envelope (below).
      const init = await rawPost(initialize('2026-07-28'));
      expect(init.body?.['result']).toMatchObject({ protocolVersion: '2025-11-25' });
      const discover = await rawPost({ jsonrpc: '2.0', id: 2, method: 'server/discover', params: {} });
      expect(discover.body?.['error']).toMatchObject({ code: ErrorCode.MethodNotFound });
      // A 2026-07-28 header without the envelope: the v2 SDK's ladder refuses it, -32602 naming it.
      const modern = await rawPost(
        { jsonrpc: '2.0', id: 3, method: 'tools/list', params: {} },
        { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' },
      );
      expect(modern.status).toBe(400);
      expect(modern.body?.['error']?.code).toBe(ErrorCode.InvalidParams);
    });

    it('answers malformed JSON-RPC with the spec codes: -32700, -32600, -32602 (tasks/get without a taskId)', async () => {
      const notJson = await rawPost('{"jsonrpc":"2.0",');
      expect(notJson).toMatchObject({
        status: 400,
        body: { id: null, error: { code: ErrorCode.ParseError } },
      });
      const noMethod = await rawPost({ jsonrpc: '2.0', id: 3, method: 7 });
      expect(noMethod).toMatchObject({
        status: 400,
        body: { id: null, error: { code: ErrorCode.InvalidRequest } },
      });
      const noTaskId = await rawPost({ jsonrpc: '2.0', id: 4, method: 'tasks/get', params: {} });
      expect(noTaskId.body).toMatchObject({
        id: 4,
        error: { code: ErrorCode.InvalidParams, message: 'Invalid params: params.taskId' },
      });

      // Over stdio the same lines are answered with id null instead of being dropped.
      const child = spawn('orgmesh-mcp', [], {
        env: { ...FINANCE, ORGMESH_GATEWAY_URL: gateway.url, PATH: testPath() },
        stdio: ['pipe', 'pipe', 'ignore'],
      });
      children.push(child);
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stdin.write('this is not json\n{"jsonrpc":"2.0","id":5,"method":"tasks/cancel","params":{}}\n');
      await expectEventually(() => expect(out.trim().split('\n')).toHaveLength(2));
      const lines = out
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { id: unknown; error: { code: number } });
      expect(lines.map((l) => [l.id, l.error.code])).toEqual([
        [null, ErrorCode.ParseError],
        [5, ErrorCode.InvalidParams],
      ]);
      child.stdin.end();
    });
  });

  describe('the Tasks path (the client asks for a task)', () => {
    it('answers a task whose id is the mesh approval; the official client follows it to the decision made in the mesh', async () => {
      // The official client asks for a task when the tool list says the tool supports one.
      await finance.listTools();
      const stream = finance.experimental.tasks.callToolStream(
        { name: 'request_approval', arguments: approvalArgs() },
        CallToolResultSchema,
      );
      const seen: string[] = [];
      let result: CallToolResult | undefined;
      for await (const message of stream) {
        if (message.type === 'taskCreated') {
          seen.push(`created:${message.task.status}`);
          const approval = await meshTask(message.task.taskId);
          expect(approval).toMatchObject({
            kind: 'approval',
            state: 'submitted',
            from: { agentId: 'finance-agent' },
          });
          await decide(message.task.taskId, 'approve', 'within plan');
        } else if (message.type === 'taskStatus') {
          seen.push(`status:${message.task.status}`);
        } else if (message.type === 'result') {
          result = message.result as CallToolResult;
        } else {
          throw message.error;
        }
      }
      expect(seen[0]).toBe('created:working');
      expect(seen.at(-1)).toBe('status:completed');
      expect(result?.isError).toBeFalsy();
      expect(result?.structuredContent).toMatchObject({
        kind: 'approval',
        state: 'completed',
        decision: {
          decision: 'approve',
          comment: 'within plan',
          decidedBy: { agentId: 'engineering-manager-agent' },
        },
      });
    });

    it('keeps the task in the mesh: another orgmesh-mcp process answers tasks/get, tasks/list and tasks/result for it', async () => {
      const task = await createApprovalTask(finance);
      expect(task).toMatchObject({ status: 'working', ttl: null, pollInterval: 100 });
      expect(task.statusMessage).toBe('submitted: waiting for manager to decide');

      const elsewhere = await financeHttp.experimental.tasks.getTask(task.taskId);
      expect(elsewhere).toMatchObject({ taskId: task.taskId, status: 'working', createdAt: task.createdAt });
      const listed = await financeHttp.experimental.tasks.listTasks();
      expect(listed.tasks.map((t) => t.taskId)).toContain(task.taskId);

      // tasks/result blocks until the mesh has the decision, then answers the tool result.
      const pending = financeHttp.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
      await decide(task.taskId, 'reject', 'not this quarter');
      const result = await pending;
      // A rejection is the approval's answer, not a failed call.
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toMatchObject({
        id: task.taskId,
        // The mesh completes an approval with either decision.
        state: 'completed',
        decision: { decision: 'reject', comment: 'not this quarter' },
      });
      expect(await finance.experimental.tasks.getTask(task.taskId)).toMatchObject({
        status: 'completed',
        statusMessage: 'reject by engineering-manager-agent',
      });
    });

    it('tasks/cancel cancels the mesh approval; a second cancel and an unknown task are -32602', async () => {
      const task = await createApprovalTask(finance);
      const cancelled = await financeHttp.experimental.tasks.cancelTask(task.taskId);
      expect(cancelled).toMatchObject({ taskId: task.taskId, status: 'cancelled' });
      expect(await meshTask(task.taskId)).toMatchObject({
        state: 'canceled',
        reason: 'canceled by the requester (MCP tasks/cancel)',
      });
      const result = await finance.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/^approval_canceled: /);

      await expect(finance.experimental.tasks.cancelTask(task.taskId)).rejects.toMatchObject({
        code: ErrorCode.InvalidParams,
      });
      for (const unknown of [randomUUID(), 'not-a-task-id']) {
        const error = await finance.experimental.tasks.getTask(unknown).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(McpError);
        expect(error).toMatchObject({ code: ErrorCode.InvalidParams });
      }
    });

    it('a task of someone else is not found for the caller (no cancel across roles)', async () => {
      const task = await createApprovalTask(finance);
      const legal = await stdioClient({
        ORGMESH_AGENT_ID: 'legal-agent',
        ORGMESH_CLIENT_SECRET: 'legal-agent-dev-secret',
        LOG_LEVEL: 'silent',
      });
      await expect(legal.experimental.tasks.getTask(task.taskId)).rejects.toMatchObject({
        code: ErrorCode.InvalidParams,
      });
      await expect(legal.experimental.tasks.cancelTask(task.taskId)).rejects.toMatchObject({
        code: ErrorCode.InvalidParams,
      });
      expect((await meshTask(task.taskId)).state).toBe('submitted');
    });

    it('a refused approval is a task born failed, whose result is the same tool error the plain call gives', async () => {
      const task = await createApprovalTask(finance, approvalArgs({ to: 'legal' }));
      expect(task.status).toBe('failed');
      expect(task.statusMessage).toMatch(/^policy_denied: /);
      // Any instance answers it: the refusal travels in the task id.
      const result = await financeHttp.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/^policy_denied: /);
      expect(result.structuredContent).toMatchObject({ error: { code: 'policy_denied', status: 403 } });
    });
  });

  describe('the blocking fallback (the client does not ask for a task)', () => {
    it('waits for the decision, with progress notifications when the client asks for them', async () => {
      const progress: Progress[] = [];
      const call = finance.callTool({ name: 'request_approval', arguments: approvalArgs() }, undefined, {
        onprogress: (p) => void progress.push(p),
        resetTimeoutOnProgress: true,
      });
      // The first progress notification names the approval: decide it then.
      await expectEventually(() => expect(progress.length).toBeGreaterThan(0));
      const id = /approval ([0-9a-f-]{36})/.exec(progress[0]?.message ?? '')?.[1];
      expect(id).toBeDefined();
      await decide(id as string, 'approve', 'go');
      const result = (await call) as CallToolResult;
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toMatchObject({
        id,
        state: 'completed',
        decision: { decision: 'approve' },
      });
      expect(progress[0]).toMatchObject({ progress: 1, message: expect.stringContaining('submitted') });
    });

    it('waits over HTTP too, the progress travelling on the SSE answer', async () => {
      const progress: Progress[] = [];
      const call = financeHttp.callTool({ name: 'request_approval', arguments: approvalArgs() }, undefined, {
        onprogress: (p) => void progress.push(p),
      });
      await expectEventually(() => expect(progress.length).toBeGreaterThan(0));
      const id = /approval ([0-9a-f-]{36})/.exec(progress[0]?.message ?? '')?.[1] as string;
      await decide(id, 'reject', 'no');
      const result = (await call) as CallToolResult;
      expect(result.structuredContent).toMatchObject({
        id,
        state: 'completed',
        decision: { decision: 'reject' },
      });
    });

    it('gives up at MCP_APPROVAL_WAIT with approval_pending naming the approval, which stays open', async () => {
      const impatient = await stdioClient({ ...FINANCE, MCP_APPROVAL_WAIT: '1s' });
      const started = Date.now();
      const result = (await impatient.callTool({
        name: 'request_approval',
        arguments: approvalArgs(),
      })) as CallToolResult;
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(
        /^approval_pending: not decided within 1 s; the approval [0-9a-f-]{36} stays open/,
      );
      const { taskId } = (result.structuredContent as { error: { taskId: string } }).error;
      expect(await meshTask(taskId)).toMatchObject({ state: 'submitted' });
    });

    it('returns the approval at once with wait: false, and refuses as before', async () => {
      const result = (await finance.callTool({
        name: 'request_approval',
        arguments: approvalArgs({ wait: false }),
      })) as CallToolResult;
      expect(result.structuredContent).toMatchObject({ kind: 'approval', state: 'submitted' });
      const refused = (await finance.callTool({
        name: 'request_approval',
        arguments: approvalArgs({ to: 'legal' }),
      })) as CallToolResult;
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toMatch(/^policy_denied: /);
    });
  });

  describe('MCP 2026-07-28 (the official SDK v2 line) on the same HTTP endpoint', () => {
    const ENVELOPE = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientInfo': { name: 'raw-2026', version: '1' },
    };
    let modern: ModernClient;

    beforeAll(async () => {
      modern = new ModernClient(
        { name: 'orgmesh-mcp-2026-test', version: '1.0.0' },
        { versionNegotiation: { mode: 'auto' } },
      );
      await modern.connect(new ModernHttpTransport(new URL(httpUrl)));
    });

    afterAll(async () => {
      await modern?.close().catch(() => undefined);
    });

    /** One 2026-07-28 request as the spec frames it: envelope in `_meta`, the standard headers. */
    async function post2026(method: string, params: Record<string, unknown>, capabilities: object = {}) {
      const name = (params['name'] ?? params['taskId']) as string | undefined;
      const res = await fetch(httpUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': method,
          ...(name ? { 'mcp-name': name } : {}),
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: randomUUID(),
          method,
          params: {
            ...params,
            _meta: { ...ENVELOPE, 'io.modelcontextprotocol/clientCapabilities': capabilities },
          },
        }),
      });
      expect(res.headers.get('content-type')).toContain('application/json');
      return { status: res.status, body: (await res.json()) as RawAnswer };
    }

    const TASKS = { extensions: { 'io.modelcontextprotocol/tasks': {} } };
    const taskSchema = z.looseObject({ taskId: z.string(), status: z.string() });

    it('negotiates 2026-07-28 through server/discover, declares the Tasks extension, serves the same tools', async () => {
      expect(modern.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      expect(modern.getServerCapabilities()).toMatchObject({
        extensions: { 'io.modelcontextprotocol/tasks': {} },
      });
      const { tools } = await modern.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual([
        'complete_task',
        'fetch_status',
        'get_agent',
        'list_agents',
        'list_tasks',
        'notify',
        'request_approval',
        'send_task',
      ]);
      const note = (await modern.callTool({
        name: 'notify',
        arguments: { to: 'manager', message: 'over 2026-07-28' },
      })) as CallToolResult;
      expect(note.structuredContent).toMatchObject({
        from: { agentId: 'finance-agent' },
        message: 'over 2026-07-28',
      });
    });

    it('over stdio too: a negotiating v2 client gets 2026-07-28, a 2025 client on the same command 2025-11-25', async () => {
      const client = new ModernClient(
        { name: 'orgmesh-mcp-2026-stdio-test', version: '1.0.0' },
        { versionNegotiation: { mode: 'auto' } },
      );
      await client.connect(
        new ModernStdioTransport({
          command: 'orgmesh-mcp',
          args: [],
          env: { ...FINANCE, ORGMESH_GATEWAY_URL: gateway.url, PATH: testPath() },
          stderr: 'ignore',
        }),
      );
      try {
        expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
        expect(client.getServerCapabilities()).toMatchObject({
          extensions: { 'io.modelcontextprotocol/tasks': {} },
        });
        expect((await client.listTools()).tools).toHaveLength(8);
        // The fallback and the mesh-backed tasks/get work over this connection as over HTTP.
        const progress: Progress[] = [];
        const call = client.callTool(
          { name: 'request_approval', arguments: approvalArgs() },
          { onprogress: (p: Progress) => void progress.push(p) },
        );
        await expectEventually(() => expect(progress.length).toBeGreaterThan(0));
        const id = /approval ([0-9a-f-]{36})/.exec(progress[0]?.message ?? '')?.[1] as string;
        await decide(id, 'approve', 'over stdio');
        expect(((await call) as CallToolResult).structuredContent).toMatchObject({ id, state: 'completed' });
        const task = await client.request({ method: 'tasks/get', params: { taskId: id } }, taskSchema);
        expect(task).toMatchObject({ taskId: id, status: 'completed', result: { resultType: 'complete' } });
      } finally {
        await client.close();
      }
    });

    it('answers malformed lines on a 2026-07-28 stdio connection with the spec codes, and keeps serving', async () => {
      const child = spawn('orgmesh-mcp', [], {
        env: { ...FINANCE, ORGMESH_GATEWAY_URL: gateway.url, PATH: testPath() },
        stdio: ['pipe', 'pipe', 'ignore'],
      });
      children.push(child);
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const meta = { ...ENVELOPE, 'io.modelcontextprotocol/clientCapabilities': {} };
      const lines = [
        { jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: meta } },
        'this is not json',
        { jsonrpc: '2.0', id: 2, method: 7 },
        { jsonrpc: '2.0', id: 3, method: 'tasks/get', params: { _meta: meta } },
        { jsonrpc: '2.0', id: 4, method: 'tasks/get', params: { taskId: randomUUID(), _meta: meta } },
      ];
      child.stdin.write(lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
      await expectEventually(() => expect(out.trim().split('\n')).toHaveLength(5), { timeoutMs: 10_000 });
      const answers = out
        .trim()
        .split('\n')
        .map(
          (line) =>
            JSON.parse(line) as {
              id: unknown;
              result?: { supportedVersions?: string[] };
              error?: { code: number };
            },
        );
      const byId = (id: unknown) => answers.filter((a) => a.id === id);
      expect(byId(1)[0]?.result?.supportedVersions).toEqual(['2026-07-28']);
      expect(
        byId(null)
          .map((a) => a.error?.code)
          .sort(),
      ).toEqual([ErrorCode.InvalidRequest, ErrorCode.ParseError].sort());
      expect(byId(3)[0]?.error?.code).toBe(ErrorCode.InvalidParams);
      expect(byId(4)[0]?.error?.code).toBe(ErrorCode.InvalidParams);
      child.stdin.end();
    });

    it('acts as the bearer of the request’s token, and keeps DNS rebinding protection', async () => {
      const anonymous = await startHttpServer({ ORGMESH_GATEWAY_URL: gateway.url, LOG_LEVEL: 'silent' });
      children.push(anonymous.child);
      const legal = new ModernClient(
        { name: 'orgmesh-mcp-2026-bearer-test', version: '1.0.0' },
        { versionNegotiation: { mode: 'auto' } },
      );
      await legal.connect(
        new ModernHttpTransport(new URL(anonymous.url), {
          requestInit: { headers: { authorization: `Bearer ${await devToken(gateway, 'legal-agent')}` } },
        }),
      );
      try {
        expect(legal.getNegotiatedProtocolVersion()).toBe('2026-07-28');
        const note = (await legal.callTool({
          name: 'notify',
          arguments: { to: 'manager', message: 'legal over 2026-07-28' },
        })) as CallToolResult;
        expect(note.structuredContent).toMatchObject({ from: { agentId: 'legal-agent', role: 'legal' } });
      } finally {
        await legal.close();
      }
      const { port } = new URL(httpUrl);
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port: Number(port),
            path: '/mcp',
            method: 'POST',
            headers: {
              host: 'evil.example',
              'content-type': 'application/json',
              accept: 'application/json, text/event-stream',
              'mcp-protocol-version': '2026-07-28',
              'mcp-method': 'server/discover',
            },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.once('error', reject);
        req.end(
          JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'server/discover',
            params: { _meta: { ...ENVELOPE, 'io.modelcontextprotocol/clientCapabilities': {} } },
          }),
        );
      });
      expect(status).toBe(403);
    });

    it('without the Tasks extension, request_approval waits for the decision, with progress', async () => {
      const progress: Progress[] = [];
      const call = modern.callTool(
        { name: 'request_approval', arguments: approvalArgs() },
        {
          onprogress: (p: Progress) => void progress.push(p),
        },
      );
      await expectEventually(() => expect(progress.length).toBeGreaterThan(0));
      const id = /approval ([0-9a-f-]{36})/.exec(progress[0]?.message ?? '')?.[1] as string;
      await decide(id, 'approve', 'ok for 2026');
      const result = (await call) as CallToolResult;
      expect(result.structuredContent).toMatchObject({
        id,
        state: 'completed',
        decision: { decision: 'approve' },
      });
    });

    it('with the Tasks extension, tools/call answers a task (the mesh approval), tasks/get carries the result once decided', async () => {
      const created = await post2026(
        'tools/call',
        { name: 'request_approval', arguments: approvalArgs() },
        TASKS,
      );
      expect(created.status).toBe(200);
      const task = created.body?.result as {
        resultType: string;
        taskId: string;
        status: string;
        ttlMs: unknown;
      };
      expect(task).toMatchObject({ resultType: 'task', status: 'working', ttlMs: null, pollIntervalMs: 100 });
      expect(await meshTask(task.taskId)).toMatchObject({ kind: 'approval', state: 'submitted' });

      // The official v2 client reads the task; so does a 2025-11-25 client of the other process.
      const working = await modern.request(
        { method: 'tasks/get', params: { taskId: task.taskId } },
        taskSchema,
      );
      expect(working).toMatchObject({ taskId: task.taskId, status: 'working' });
      expect(working['result']).toBeUndefined();
      expect(await finance.experimental.tasks.getTask(task.taskId)).toMatchObject({ status: 'working' });

      await decide(task.taskId, 'reject', 'not in 2026 either');
      const done = await modern.request({ method: 'tasks/get', params: { taskId: task.taskId } }, taskSchema);
      expect(done).toMatchObject({
        taskId: task.taskId,
        status: 'completed',
        result: {
          resultType: 'complete',
          structuredContent: {
            id: task.taskId,
            decision: { decision: 'reject', comment: 'not in 2026 either' },
          },
        },
      });
    });

    it('the official Tasks requester (ext-tasks) calls request_approval as a task and settles it on the mesh decision', async () => {
      // ext-tasks drives 2026-07-28 tasks through a raw dispatch the host supplies, because the v2
      // client's codec refuses `resultType: "task"`; this one posts each request as the spec frames it.
      const rawDispatch = async (request: unknown): Promise<JsonRpcResponse> => {
        const message = request as { method: string; params?: { name?: string; taskId?: string } };
        const name = message.params?.name ?? message.params?.taskId;
        const res = await fetch(httpUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-protocol-version': '2026-07-28',
            'mcp-method': message.method,
            ...(name ? { 'mcp-name': name } : {}),
          },
          // The requester hands over method and params; the JSON-RPC frame is the host's.
          body: JSON.stringify({ jsonrpc: '2.0', id: randomUUID(), ...(request as object) }),
        });
        const body = JSON.parse(await res.text()) as RawAnswer;
        return body.error
          ? { kind: 'error', error: body.error }
          : { kind: 'result', result: body.result as never };
      };
      // Jest runs this file in its own realm: a body parsed by Node's fetch (`response.json()`) is
      // made of the other realm's objects, which ext-tasks' plain-object check refuses. Parsing the
      // text here keeps every object in this realm; the bytes on the wire are the same.
      const sameRealmFetch = async (url: string | URL, init?: RequestInit): Promise<Response> => {
        const answer = await fetch(url, init);
        if (!(answer.headers.get('content-type') ?? '').includes('application/json')) return answer;
        const text = await answer.text();
        const copy = new Response(text, { status: answer.status, headers: answer.headers });
        Object.defineProperty(copy, 'json', { value: async () => JSON.parse(text) as unknown });
        return copy;
      };
      const requester = new ModernClient(
        { name: 'orgmesh-mcp-ext-tasks-test', version: '1.0.0' },
        { versionNegotiation: { mode: 'auto' } },
      );
      await requester.connect(new ModernHttpTransport(new URL(httpUrl), { fetch: sameRealmFetch }));
      const session = createTaskSessionFromClient(requester, {
        endpointId: 'orgmesh-mcp-test',
        rawDispatch,
        v2RequestFraming: {
          protocolVersion: '2026-07-28',
          clientInfo: { name: 'orgmesh-mcp-ext-tasks-test', version: '1.0.0' },
          clientCapabilities: {},
        },
      });
      try {
        const execution = await session.callTool('request_approval', approvalArgs());
        const handle = execution.handle as { taskId: string } | undefined;
        expect(handle?.taskId).toMatch(/^[0-9a-f-]{36}$/);
        expect(await meshTask(handle!.taskId)).toMatchObject({ kind: 'approval', state: 'submitted' });
        const settled = execution.settle();
        await decide(handle!.taskId, 'approve', 'settled through ext-tasks');
        const { outcome } = await settled;
        const result = resultFromTaskOutcome(outcome) as CallToolResult;
        expect(result.structuredContent).toMatchObject({
          id: handle!.taskId,
          decision: { decision: 'approve', comment: 'settled through ext-tasks' },
        });
      } finally {
        await session.close();
        await requester.close();
      }
    });

    it('tasks/cancel cancels the mesh approval; an unknown task is -32602; a refusal is the plain tool error', async () => {
      const created = await post2026(
        'tools/call',
        { name: 'request_approval', arguments: approvalArgs() },
        TASKS,
      );
      const { taskId } = created.body?.result as { taskId: string };
      await modern.request({ method: 'tasks/cancel', params: { taskId } }, z.looseObject({}));
      expect(await meshTask(taskId)).toMatchObject({ state: 'canceled' });
      const cancelled = await modern.request({ method: 'tasks/get', params: { taskId } }, taskSchema);
      expect(cancelled.status).toBe('cancelled');

      const unknown = await modern
        .request({ method: 'tasks/get', params: { taskId: randomUUID() } }, taskSchema)
        .catch((e: unknown) => e);
      expect(unknown).toBeInstanceOf(ProtocolError);
      expect(unknown).toMatchObject({ code: ErrorCode.InvalidParams });

      const refused = await post2026(
        'tools/call',
        { name: 'request_approval', arguments: approvalArgs({ to: 'legal' }) },
        TASKS,
      );
      expect(refused.body?.result).toMatchObject({ resultType: 'complete', isError: true });
      expect(JSON.stringify(refused.body?.result)).toContain('policy_denied: ');
    });
  });
});
