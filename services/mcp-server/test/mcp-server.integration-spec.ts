import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parse as parseYaml } from 'yaml';
import { RenderConfig, type Task } from '@orgmesh/contracts';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
// The whole suite runs in-process, for real: gateway (dev issuer), registry, mesh router, sessions.
import {
  api,
  devToken,
  startGatewayStack,
  type GatewayStack,
  type GatewayApp,
} from '@orgmesh/gateway/testing';
import { buildForProcesses, callTool, startHttpServer, testPath } from './mcp-harness.js';

const TOOL_NAMES = [
  'complete_task',
  'fetch_status',
  'get_agent',
  'list_agents',
  'list_tasks',
  'notify',
  'request_approval',
  'send_task',
];

describe('orgmesh-mcp driven by the official MCP client SDK, against the real gateway and services', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let stack: GatewayStack;
  const clients: Client[] = [];
  let finance: Client;
  let manager: Client;
  let registryBus: GatewayStack['registry']['bus'];

  /** Spawns orgmesh-mcp exactly as a client config rendered by the registry says (command, args, env). */
  async function connectAs(server: {
    command: string;
    args: string[];
    env: Record<string, string>;
  }): Promise<Client> {
    const client = new Client({ name: 'orgmesh-mcp-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: server.command,
        args: server.args,
        env: { ...server.env, PATH: testPath() },
        stderr: 'ignore',
      }),
    );
    clients.push(client);
    return client;
  }

  async function renderedFile(
    agentId: string,
    format: 'goose' | 'claude-code',
    path: string,
  ): Promise<string> {
    // The registry renders an agent's configuration for that agent (or staff) only (issue 18).
    const authorization = `Bearer ${await devToken(gateway, agentId)}`;
    const rendered = await registryBus.request(RenderConfig, { agentId, format }, { authorization });
    const file = rendered.files.find((f) => f.path === path);
    if (!file) throw new Error(`${agentId} ${format}: no ${path}`);
    return file.content;
  }

  beforeAll(async () => {
    buildForProcesses();
    ctx = await createTestContext();
    // The registry renders configs pointing at this gateway, and trusts its issuer.
    stack = await startGatewayStack(ctx);
    gateway = stack.gateway;
    registryBus = stack.registry.bus;

    // Finance runs Goose: the orgmesh extension of its rendered config.yaml.
    const goose = parseYaml(await renderedFile('finance-agent', 'goose', '.config/goose/config.yaml')) as {
      extensions: {
        orgmesh: {
          cmd: string;
          args: string[];
          envs: Record<string, string>;
          env_keys: string[];
          type: string;
        };
      };
    };
    const ext = goose.extensions.orgmesh;
    expect(ext).toMatchObject({
      cmd: 'orgmesh-mcp',
      args: [],
      type: 'stdio',
      env_keys: ['ORGMESH_CLIENT_SECRET'],
    });
    expect(ext.envs).toEqual({
      ORGMESH_AGENT_ID: 'finance-agent',
      ORGMESH_CLIENT_ID: 'finance-agent',
      ORGMESH_GATEWAY_URL: gateway.url,
    });
    finance = await connectAs({
      command: ext.cmd,
      args: ext.args,
      env: { ...ext.envs, ORGMESH_CLIENT_SECRET: 'finance-agent-dev-secret' },
    });

    // A manager runs Claude Code: the orgmesh server of its rendered .mcp.json, ${VAR} expanded as Claude Code does.
    const mcpJson = JSON.parse(
      await renderedFile('engineering-manager-agent', 'claude-code', '.mcp.json'),
    ) as {
      mcpServers: { orgmesh: { type: string; command: string; args: string[]; env: Record<string, string> } };
    };
    const server = mcpJson.mcpServers.orgmesh;
    expect(server).toMatchObject({ type: 'stdio', command: 'orgmesh-mcp', args: [] });
    const expand = (value: string) =>
      value.replace(/\$\{(\w+)\}/g, (_, name: string) =>
        name === 'ORGMESH_CLIENT_SECRET' ? 'engineering-manager-agent-dev-secret' : '',
      );
    manager = await connectAs({
      command: server.command,
      args: server.args,
      env: Object.fromEntries(Object.entries(server.env).map(([k, v]) => [k, expand(v)])),
    });
  });

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await stack?.close();
    await ctx?.dispose();
  });

  it('offers the eight mesh tools, each with an input schema', async () => {
    const { tools } = await finance.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOL_NAMES);
    const sendTask = tools.find((t) => t.name === 'send_task');
    expect(sendTask?.inputSchema).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['to', 'type']),
    });
    expect(Object.keys(sendTask?.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['to', 'agentId', 'type', 'input', 'contextId', 'deadline', 'priority']),
    );
    const complete = tools.find((t) => t.name === 'complete_task');
    expect(complete?.inputSchema.required).toEqual(['taskId']);
    expect(tools.find((t) => t.name === 'fetch_status')?.annotations).toMatchObject({ readOnlyHint: true });
    expect(finance.getServerVersion()).toMatchObject({ name: 'orgmesh' });
  });

  it('runs an approval: Finance requests it (Goose config), the manager finds it in its inbox and approves (Claude Code config), Finance sees the decision', async () => {
    const contextId = `budget-${randomUUID()}`;
    const requested = await callTool(finance, 'request_approval', {
      to: 'manager',
      // Below the demo manager profile's people-approval rule (> $100,000, ADR 0019), so the
      // history is the agent's decision alone.
      subject: 'Q1 engineering offsite: $12.5K',
      details: { amount: 12_500, currency: 'USD' },
      contextId,
      // Return at once; waiting for the decision is mcp-tasks.integration-spec.ts's.
      wait: false,
    });
    expect(requested.isError).toBe(false);
    const approval = requested.structured as Task;
    expect(approval).toMatchObject({
      kind: 'approval',
      state: 'submitted',
      from: { agentId: 'finance-agent', role: 'finance' },
      to: { role: 'manager' },
      contextId,
    });
    expect(JSON.parse(requested.text)).toMatchObject({ id: approval.id });

    const inbox = await callTool(manager, 'list_tasks', {
      direction: 'inbound',
      kind: 'approval',
      contextId,
    });
    expect(inbox.isError).toBe(false);
    expect(inbox.structured.items.map((t: Task) => t.id)).toEqual([approval.id]);

    const decided = await callTool(manager, 'complete_task', {
      taskId: approval.id,
      decision: 'approve',
      comment: 'within plan',
    });
    expect(decided.isError).toBe(false);
    expect(decided.structured).toMatchObject({
      state: 'completed',
      decision: {
        decision: 'approve',
        comment: 'within plan',
        decidedBy: { agentId: 'engineering-manager-agent' },
      },
    });

    const status = await callTool(finance, 'fetch_status', { taskId: approval.id });
    expect(status.structured).toMatchObject({
      id: approval.id,
      state: 'completed',
      decision: { decision: 'approve' },
    });
    expect(status.structured.history.map((h: { event: string }) => h.event)).toEqual(['create', 'decide']);
    const outbox = await callTool(finance, 'list_tasks', { direction: 'outbound', contextId });
    expect(outbox.structured.items.map((t: Task) => [t.id, t.state])).toEqual([[approval.id, 'completed']]);
  });

  it('sends a task and completes it with a result; notifies; and a second completion is refused with task_illegal_transition', async () => {
    const legal = await devToken(gateway, 'legal-agent');
    const sent = await callTool(manager, 'send_task', {
      to: 'legal',
      type: 'sox-review',
      input: { budget: 'Q1' },
      priority: 'high',
    });
    expect(sent.isError).toBe(false);
    expect(sent.structured).toMatchObject({
      kind: 'task',
      type: 'sox-review',
      priority: 'high',
      to: { role: 'legal' },
      from: { agentId: 'engineering-manager-agent' },
    });
    const taskId = (sent.structured as Task).id;
    // Legal answers through the REST API; the manager completes a task of its own role below.
    const done = await api<Task>(gateway, 'POST', `/v1/tasks/${taskId}/updates`, {
      token: legal,
      body: { state: 'completed', result: { verdict: 'compliant' } },
    });
    expect(done.status).toBe(200);
    const status = await callTool(manager, 'fetch_status', { taskId, includeHistory: false });
    expect(status.structured).toMatchObject({ state: 'completed', result: { verdict: 'compliant' } });
    expect(status.structured.history).toBeUndefined();

    const own = await callTool(manager, 'send_task', { to: 'manager', type: 'follow-up' });
    const ownId = (own.structured as Task).id;
    const completed = await callTool(manager, 'complete_task', { taskId: ownId, result: { note: 'done' } });
    expect(completed.structured).toMatchObject({
      state: 'completed',
      result: { note: 'done' },
      assignee: { agentId: 'engineering-manager-agent' },
    });
    const again = await callTool(manager, 'complete_task', {
      taskId: ownId,
      outcome: 'failed',
      reason: 'changed my mind',
    });
    expect(again.isError).toBe(true);
    expect(again.text).toMatch(/^task_illegal_transition: /);
    expect(again.structured.error).toMatchObject({ code: 'task_illegal_transition', status: 409 });

    const note = await callTool(finance, 'notify', {
      to: 'manager',
      message: 'invoice 42 paid',
      priority: 'low',
    });
    expect(note.structured).toMatchObject({
      kind: 'notification',
      message: 'invoice 42 paid',
      priority: 'low',
      to: { role: 'manager' },
    });
  });

  it('turns gateway problems into tool errors with the stable code and message: policy, validation, not found', async () => {
    const refused = await callTool(finance, 'send_task', { to: 'legal', type: 'sox-review' });
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/^policy_denied: /);
    expect(refused.structured.error).toMatchObject({ code: 'policy_denied', status: 403 });
    expect(JSON.stringify(refused.structured.error)).toContain('profiles/finance.yaml');

    const invalid = await callTool(finance, 'notify', { to: 'Not A Role', message: 'hi' });
    expect(invalid.isError).toBe(true);
    expect(invalid.structured.error).toMatchObject({ code: 'validation_failed', status: 400 });

    const missing = await callTool(finance, 'fetch_status', { taskId: randomUUID() });
    expect(missing.isError).toBe(true);
    expect(missing.text).toMatch(/^task_not_found: /);

    // The MCP layer's own input validation answers before any call is made.
    const malformed = await callTool(finance, 'fetch_status', { taskId: 'not-a-uuid' });
    expect(malformed.isError).toBe(true);
    expect(malformed.text).toMatch(/taskId/);
  });

  it("lists the organisation's agents one line each with their presence, and gives one in full on request", async () => {
    const agents = await callTool(finance, 'list_agents', { role: 'legal' });
    expect(agents.isError).toBe(false);
    const ids = agents.structured.items.map((i: { id: string }) => i.id);
    expect(ids).toEqual(expect.arrayContaining(['legal-agent', 'contracts-agent', 'privacy-counsel-agent']));
    expect(
      agents.structured.items.every(
        (i: { role: string; online: unknown }) => i.role === 'legal' && typeof i.online === 'boolean',
      ),
    ).toBe(true);
    expect(JSON.parse(agents.text)).toEqual(agents.structured);

    const one = await callTool(finance, 'get_agent', { agentId: 'contracts-agent' });
    expect(one.isError).toBe(false);
    expect(one.structured).toMatchObject({
      agent: { id: 'contracts-agent', role: 'legal', responsibilities: expect.any(Array) },
      presence: { online: expect.any(Boolean) },
    });
    const unknown = await callTool(finance, 'get_agent', { agentId: 'ghost-agent' });
    expect(unknown.isError).toBe(true);
    expect(unknown.text).toMatch(/^agent_not_found: /);
  });

  it('answers the whole organisation compactly: list_agents stays under 250 characters an agent, detail on request', async () => {
    const all = await callTool(finance, 'list_agents');
    const count = all.structured.items.length;
    expect(count).toBeGreaterThanOrEqual(26);
    expect(all.structured.nextCursor).toBeNull();
    // Issue 20: the pretty-printed full list was 28,097 characters for the 26 demo agents.
    expect(all.text.length).toBeLessThan(count * 250);
    expect(all.text).not.toContain('\n');
    const detailed = await callTool(finance, 'list_agents', { detail: true });
    expect(detailed.structured.items).toHaveLength(count);
    expect(detailed.structured.items[0]).toMatchObject({ agent: { id: all.structured.items[0].id } });
    expect(all.text.length * 3).toBeLessThan(detailed.text.length);
  });

  it('reports refused credentials as an unauthenticated tool error (the server stays up)', async () => {
    // Without its start-up check (which exits 1 instead: mcp-startup-check.integration-spec.ts), a
    // secret that goes bad later is met at a tool call: this is that path.
    const client = await connectAs({
      command: 'orgmesh-mcp',
      args: [],
      env: {
        ORGMESH_AGENT_ID: 'finance-agent',
        ORGMESH_CLIENT_SECRET: 'wrong-secret',
        ORGMESH_GATEWAY_URL: gateway.url,
        MCP_STARTUP_CHECK: 'false',
      },
    });
    const answer = await callTool(client, 'list_tasks');
    expect(answer.isError).toBe(true);
    expect(answer.text).toMatch(/^unauthenticated: token for client "finance-agent" refused/);
    expect((await client.listTools()).tools).toHaveLength(TOOL_NAMES.length);
  });

  it('refuses to start over stdio without the agent credentials, naming the missing keys', async () => {
    const client = new Client({ name: 'orgmesh-mcp-test', version: '1.0.0' });
    const transport = new StdioClientTransport({
      command: 'orgmesh-mcp',
      args: [],
      env: { PATH: testPath(), ORGMESH_GATEWAY_URL: gateway.url },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await expect(client.connect(transport)).rejects.toThrow();
    await expectEventually(() => expect(stderr).toContain('ORGMESH_AGENT_ID (required'));
    expect(stderr).toContain('ORGMESH_CLIENT_SECRET (required');
  });

  describe('streamable HTTP', () => {
    let http: Awaited<ReturnType<typeof startHttpServer>>;
    let anonymous: Awaited<ReturnType<typeof startHttpServer>>;

    beforeAll(async () => {
      http = await startHttpServer({
        ORGMESH_AGENT_ID: 'finance-agent',
        ORGMESH_CLIENT_SECRET: 'finance-agent-dev-secret',
        ORGMESH_GATEWAY_URL: gateway.url,
        LOG_LEVEL: 'silent',
      });
      anonymous = await startHttpServer({ ORGMESH_GATEWAY_URL: gateway.url, LOG_LEVEL: 'silent' });
    });

    afterAll(() => {
      http?.child.kill('SIGTERM');
      anonymous?.child.kill('SIGTERM');
    });

    async function httpClient(url: string, token?: string): Promise<Client> {
      const client = new Client({ name: 'orgmesh-mcp-http-test', version: '1.0.0' });
      const requestInit = token ? { headers: { authorization: `Bearer ${token}` } } : undefined;
      await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit }));
      clients.push(client);
      return client;
    }

    it('serves the same tools with the server’s own agent credentials', async () => {
      const client = await httpClient(http.url);
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(TOOL_NAMES);
      const note = await callTool(client, 'notify', { to: 'manager', message: 'over HTTP' });
      expect(note.isError).toBe(false);
      expect(note.structured).toMatchObject({ from: { agentId: 'finance-agent' }, message: 'over HTTP' });
    });

    it('acts as the caller when the request brings its own orgmesh token, and answers 401 when there is none', async () => {
      const legalToken = await devToken(gateway, 'legal-agent');
      const legal = await httpClient(anonymous.url, legalToken);
      const note = await callTool(legal, 'notify', { to: 'manager', message: 'from legal' });
      expect(note.structured).toMatchObject({ from: { agentId: 'legal-agent', role: 'legal' } });
      // The token travels with every request: the role filter of list_tasks is the caller's.
      const outbox = await callTool(legal, 'list_tasks', { direction: 'outbound', kind: 'notification' });
      expect(outbox.structured.items.map((t: Task) => t.id)).toContain((note.structured as Task).id);

      const res = await fetch(anonymous.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    });

    it('is stateless (no GET stream) and refuses foreign Host headers (DNS rebinding)', async () => {
      const get = await fetch(http.url, { headers: { accept: 'text/event-stream' } });
      expect(get.status).toBe(405);
      const { port } = new URL(http.url);
      const rebinding = await new Promise<number>((resolve, reject) => {
        import('node:http').then(({ request }) => {
          const req = request(
            {
              host: '127.0.0.1',
              port: Number(port),
              path: '/mcp',
              method: 'POST',
              headers: {
                host: 'evil.example',
                'content-type': 'application/json',
                accept: 'application/json, text/event-stream',
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
              method: 'initialize',
              params: {
                protocolVersion: '2025-06-18',
                capabilities: {},
                clientInfo: { name: 'x', version: '1' },
              },
            }),
          );
        }, reject);
      });
      expect(rebinding).toBe(403);
    });
  });
});
