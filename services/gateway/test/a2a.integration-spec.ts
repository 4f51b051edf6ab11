import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { AgentCard, TaskState, verifyAgentCardSignature, type StreamResponse } from '@a2a-js/sdk';
import { TaskNotCancelableError, TaskNotFoundError, UnsupportedOperationError } from '@a2a-js/sdk/errors';
import type { Task } from '@orgmesh/contracts';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { api, devToken, startGatewayStack, type GatewayStack } from './gateway-harness.js';
import { a2aClient, asTask, keyFromJku, rpc, sendRequest, userMessage } from './a2a-harness.js';

describe('A2A v1.0 over the mesh (official @a2a-js/sdk client → gateway → mesh router → Postgres)', () => {
  let ctx: TestContext;
  let stack: GatewayStack;
  let gateway: GatewayApp;
  const tokens: Record<string, string> = {};
  const as = (client: string) => tokens[client] as string;

  /** Legal's agent takes the task over REST, as a mesh agent does. */
  const update = async (id: string, body: Record<string, unknown>) => {
    const res = await api<Task>(gateway, 'POST', `/v1/tasks/${id}/updates`, {
      token: as('legal-agent'),
      body,
    });
    expect(res.status).toBe(200);
    return res.body;
  };

  beforeAll(async () => {
    ctx = await createTestContext();
    stack = await startGatewayStack(ctx, { sessions: false });
    gateway = stack.gateway;
    for (const client of ['admin', 'viewer', 'finance-agent', 'manager-agent', 'legal-agent'])
      tokens[client] = await devToken(gateway, client);
  });

  afterAll(async () => {
    await stack?.close();
    await ctx?.dispose();
  });

  describe('Agent Cards', () => {
    it("serves each registry agent's public card without a token: bearer JWT, JSON-RPC 1.0 and 0.3, signed and verifiable from the published JWKS; the extended card holds the registry's skills", async () => {
      // A2A discovery: the card is read before the client authenticates (it names the scheme).
      const res = await fetch(`${gateway.url}/a2a/legal-agent/.well-known/agent-card.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=60');
      const card = (await res.json()) as Record<string, any>;
      expect(card['name']).toBe('Legal Agent');
      // Nothing of the registry's descriptions is public: no responsibilities, no "does not", no tools.
      const text = JSON.stringify(card);
      expect(text).not.toContain('SOX');
      expect(text).not.toContain('Does not');
      expect(card['capabilities']).toMatchObject({ extendedAgentCard: true });
      expect((card['skills'] as Array<{ id: string }>).map((s) => s.id)).toEqual(['legal']);
      expect(card['supportedInterfaces']).toEqual([
        { url: `${gateway.url}/a2a/legal-agent`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
        { url: `${gateway.url}/a2a/legal-agent`, protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
        { url: `${gateway.url}/a2a/legal-agent/rest`, protocolBinding: 'HTTP+JSON', protocolVersion: '1.0' },
      ]);
      expect(card['securitySchemes']).toEqual({
        bearer: {
          httpAuthSecurityScheme: expect.objectContaining({ scheme: 'Bearer', bearerFormat: 'JWT' }),
        },
      });
      // No scopes: ProtoJSON leaves the empty list out.
      expect(card['securityRequirements']).toEqual([{ schemes: { bearer: {} } }]);
      expect(card['capabilities']).toMatchObject({ streaming: true });

      // The extended card (GetExtendedAgentCard, which the SDK client reads when the public card
      // offers one): the registry's responsibilities as skills, signed as well.
      const client = await a2aClient(gateway, as('manager-agent'), '/a2a/legal-agent');
      const extended = await client.getAgentCard();
      // Verified in its JSON form: the SDK's verifier reads its argument as JSON, and the client's
      // card object holds the security scheme in its `$case` form, which that reading drops.
      await expect(
        verifyAgentCardSignature(keyFromJku)(AgentCard.toJSON(extended) as AgentCard),
      ).resolves.toBeUndefined();
      expect(extended.description).toContain('SOX');
      expect(extended.skills.map((s) => s.name)).toEqual([
        'Review spending requests for SOX compliance',
        'Answer with a recommendation and the rule it rests on',
      ]);
      expect(extended.skills.every((s) => s.tags.includes('legal'))).toBe(true);
      // Over REST too; and without a token it is the gateway's 401, as for every A2A method.
      const rest = await fetch(`${gateway.url}/a2a/legal-agent/rest/extendedAgentCard`, {
        headers: { authorization: `Bearer ${as('viewer')}` },
      });
      expect(rest.status).toBe(200);
      expect(((await rest.json()) as { description: string }).description).toContain('SOX');
      expect((await fetch(`${gateway.url}/a2a/legal-agent/rest/extendedAgentCard`)).status).toBe(401);

      // The signature: JWS over the canonical card, verified with the SDK against the key the jku names.
      expect(card['signatures']).toHaveLength(1);
      const header = JSON.parse(Buffer.from(card['signatures'][0].protected, 'base64url').toString());
      expect(header).toMatchObject({ alg: 'ES256', typ: 'JOSE', jku: `${gateway.url}/a2a/jwks.json` });
      const verify = verifyAgentCardSignature(keyFromJku);
      await expect(verify(card as unknown as AgentCard)).resolves.toBeUndefined();
      // Negative control: a card changed after signing no longer verifies.
      // (The SDK logs each failed signature at debug level; silenced for this expected failure.)
      const debug = jest.spyOn(console, 'debug').mockImplementation(() => undefined);
      try {
        await expect(verify({ ...card, name: 'Finance Agent' } as unknown as AgentCard)).rejects.toThrow();
      } finally {
        debug.mockRestore();
      }
    });

    it('serves the public org card with one skill per role and no agent named, the extended one with its agents, and refuses an unknown agent (404)', async () => {
      const org = await fetch(`${gateway.url}/.well-known/agent-card.json`);
      expect(org.status).toBe(200);
      const card = (await org.json()) as {
        skills: Array<{ id: string; description: string }>;
        supportedInterfaces: Array<{ url: string }>;
      };
      expect(card.skills.map((s) => s.id)).toEqual(expect.arrayContaining(['finance', 'legal', 'manager']));
      expect(JSON.stringify(card)).not.toContain('Legal Agent');
      expect(card.supportedInterfaces[0]?.url).toBe(`${gateway.url}/a2a`);
      const extended = await (await a2aClient(gateway, as('viewer'), '')).getAgentCard();
      expect(extended.skills.find((s) => s.id === 'legal')?.description).toContain('Legal Agent');

      const unknown = await api(gateway, 'GET', '/a2a/nobody-agent/.well-known/agent-card.json');
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('not_found');
      const jwks = await api(gateway, 'GET', '/a2a/jwks.json');
      expect(jwks.status).toBe(200);
      expect(jwks.body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
    });
  });

  describe('JSON-RPC', () => {
    it('SendMessage creates the mesh task (same id, visible over REST), once per messageId', async () => {
      const client = await a2aClient(gateway, as('manager-agent'), '/a2a/legal-agent');
      const contextId = `a2a-${randomUUID()}`;
      const message = userMessage('Is the Q3 budget SOX compliant?', { contextId });
      const task = asTask(await client.sendMessage(sendRequest(message)));
      expect(task.status?.state).toBe(TaskState.TASK_STATE_SUBMITTED);
      expect(task.contextId).toBe(contextId);
      expect(task.history[0]?.parts[0]?.content).toEqual({
        $case: 'text',
        value: 'Is the Q3 budget SOX compliant?',
      });

      const mesh = await api<Task>(gateway, 'GET', `/v1/tasks/${task.id}`, { token: as('legal-agent') });
      expect(mesh.status).toBe(200);
      expect(mesh.body).toMatchObject({
        id: task.id,
        kind: 'task',
        type: 'a2a-message',
        from: { agentId: 'manager-agent', role: 'manager' },
        to: { role: 'legal', agentId: 'legal-agent' },
        contextId,
        state: 'submitted',
        input: { text: 'Is the Q3 budget SOX compliant?' },
      });
      // A retried send (same messageId) is the same task.
      const again = asTask(await client.sendMessage(sendRequest(message)));
      expect(again.id).toBe(task.id);
    });

    it('a blocking SendMessage answers when the agent completes the task, with the result as an artifact', async () => {
      const client = await a2aClient(gateway, as('manager-agent'), '/a2a/legal-agent');
      const contextId = `a2a-${randomUUID()}`;
      const retried = userMessage('Review contract c-7', { contextId });
      const pending = client.sendMessage(sendRequest(retried, false));
      let id = '';
      await expectEventually(async () => {
        const inbox = await api(gateway, 'GET', `/v1/tasks?contextId=${contextId}`, {
          token: as('legal-agent'),
        });
        expect(inbox.body.items).toHaveLength(1);
        id = inbox.body.items[0].id;
      });
      await update(id, { state: 'working' });
      await update(id, { state: 'completed', result: { verdict: 'compliant', rule: 'SOX 404' } });
      const task = asTask(await pending);
      expect(task.id).toBe(id);
      expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      expect(task.artifacts[0]?.parts[0]?.content).toEqual({
        $case: 'data',
        value: { verdict: 'compliant', rule: 'SOX 404' },
      });
      // Retried (same messageId) after the task finished: the finished task at once, not a wait.
      const started = Date.now();
      const again = asTask(await client.sendMessage(sendRequest(retried, false)));
      expect(again).toMatchObject({ id, status: { state: TaskState.TASK_STATE_COMPLETED } });
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('SendStreamingMessage streams the task, then its changes from JetStream until it ends', async () => {
      const client = await a2aClient(gateway, as('manager-agent'), '/a2a/legal-agent');
      const events: StreamResponse[] = [];
      const done = (async () => {
        for await (const event of client.sendMessageStream(sendRequest(userMessage('Stream me a review')))) {
          events.push(event);
        }
      })();
      await expectEventually(() => expect(events.length).toBeGreaterThanOrEqual(1));
      const first = events[0]?.payload;
      if (first?.$case !== 'task') throw new Error(`first event is ${first?.$case}`);
      const id = first.value.id;
      expect(first.value.status?.state).toBe(TaskState.TASK_STATE_SUBMITTED);
      await update(id, { state: 'working' });
      await expectEventually(() => expect(events.length).toBeGreaterThanOrEqual(2));
      await update(id, { state: 'completed', result: 'approved under SOX 404' });
      await done;
      const kinds = events.map((e) =>
        e.payload?.$case === 'statusUpdate'
          ? `status:${TaskState[e.payload.value.status?.state ?? 0]}`
          : e.payload?.$case,
      );
      expect(kinds).toEqual([
        'task',
        'status:TASK_STATE_WORKING',
        'artifactUpdate',
        'status:TASK_STATE_COMPLETED',
      ]);
      const artifact = events[2]?.payload;
      expect(artifact?.$case === 'artifactUpdate' && artifact.value.artifact?.parts[0]?.content).toEqual({
        $case: 'text',
        value: 'approved under SOX 404',
      });
    });

    it('GetTask maps mesh states (input-required → INPUT_REQUIRED); an unknown or foreign task is TaskNotFound', async () => {
      const client = await a2aClient(gateway, as('manager-agent'), '/a2a/legal-agent');
      const task = asTask(await client.sendMessage(sendRequest(userMessage('Need more facts?'))));
      await update(task.id, { state: 'working' });
      await update(task.id, { state: 'input-required', reason: 'which contract?' });
      const got = await client.getTask({ tenant: '', id: task.id });
      expect(got.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
      expect(got.status?.message?.parts[0]?.content).toEqual({ $case: 'text', value: 'which contract?' });
      expect(got.metadata?.['orgmesh']).toMatchObject({
        kind: 'task',
        version: 3,
        to: { agentId: 'legal-agent' },
      });

      await expect(client.getTask({ tenant: '', id: randomUUID() })).rejects.toBeInstanceOf(
        TaskNotFoundError,
      );
      await expect(client.getTask({ tenant: '', id: 'not-a-task' })).rejects.toBeInstanceOf(
        TaskNotFoundError,
      );
      // A task of another agent is not found through this agent's endpoint.
      const other = await api<Task>(gateway, 'POST', '/v1/tasks', {
        token: as('manager-agent'),
        body: { to: 'finance-agent', type: 'ledger' },
      });
      expect(other.status).toBe(202);
      await expect(client.getTask({ tenant: '', id: other.body.id })).rejects.toBeInstanceOf(
        TaskNotFoundError,
      );
      // A caller who is no party to the task may not read it (the mesh's rule, as GET /v1/tasks/{id}: forbidden).
      const finance = await a2aClient(gateway, as('finance-agent'), '/a2a/legal-agent');
      await expect(finance.getTask({ tenant: '', id: task.id })).rejects.toMatchObject({
        envelopeCode: -32040,
      });
      const rest = await api(gateway, 'GET', `/v1/tasks/${task.id}`, { token: as('finance-agent') });
      expect(rest.status).toBe(403);
    });

    it('CancelTask cancels the mesh task; a finished task is TaskNotCancelable, and has no stream to resubscribe to', async () => {
      const client = await a2aClient(gateway, as('manager-agent'), '/a2a/legal-agent');
      const task = asTask(await client.sendMessage(sendRequest(userMessage('Cancel me'))));
      const canceled = await client.cancelTask({
        tenant: '',
        id: task.id,
        metadata: { reason: 'changed my mind' },
      });
      expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
      const mesh = await api<Task>(gateway, 'GET', `/v1/tasks/${task.id}`, { token: as('manager-agent') });
      expect(mesh.body).toMatchObject({ state: 'canceled', reason: 'changed my mind' });
      await expect(client.cancelTask({ tenant: '', id: task.id, metadata: {} })).rejects.toBeInstanceOf(
        TaskNotCancelableError,
      );
      const resubscribe = async () => {
        for await (const _event of client.resubscribeTask({ tenant: '', id: task.id })) void _event;
      };
      await expect(resubscribe()).rejects.toBeInstanceOf(UnsupportedOperationError);
    });

    it('SubscribeToTask after the first stream was dropped: the current state, then every later change', async () => {
      const client = await a2aClient(gateway, as('manager-agent'), '/a2a/legal-agent');
      const abort = new AbortController();
      const firstSeen: StreamResponse[] = [];
      const first = (async () => {
        try {
          for await (const event of client.sendMessageStream(sendRequest(userMessage('Long review')), {
            signal: abort.signal,
          })) {
            firstSeen.push(event);
          }
        } catch {
          // aborted
        }
      })();
      await expectEventually(() => expect(firstSeen.length).toBe(1));
      const head = firstSeen[0]?.payload;
      if (head?.$case !== 'task') throw new Error('expected the task first');
      const id = head.value.id;
      abort.abort();
      await first;
      // Changes while no stream is open.
      await update(id, { state: 'working' });
      await update(id, { state: 'input-required', reason: 'waiting for the CFO' });

      const events: StreamResponse[] = [];
      const second = (async () => {
        for await (const event of client.resubscribeTask({ tenant: '', id })) events.push(event);
      })();
      await expectEventually(() => expect(events.length).toBe(1));
      const snapshot = events[0]?.payload;
      expect(snapshot?.$case === 'task' && snapshot.value.status?.state).toBe(
        TaskState.TASK_STATE_INPUT_REQUIRED,
      );
      await update(id, { state: 'working' });
      await update(id, { state: 'completed', result: { ok: true } });
      await second;
      expect(
        events
          .slice(1)
          .map((e) =>
            e.payload?.$case === 'statusUpdate' ? e.payload.value.status?.state : e.payload?.$case,
          ),
      ).toEqual([TaskState.TASK_STATE_WORKING, 'artifactUpdate', TaskState.TASK_STATE_COMPLETED]);
    });

    it('ListTasks counts every task of its filters the caller may see (totalSize), across pages', async () => {
      const client = await a2aClient(gateway, as('manager-agent'), '/a2a/legal-agent');
      const contextId = `count-${randomUUID()}`;
      const ids: string[] = [];
      for (const text of ['one', 'two', 'three']) {
        ids.push(asTask(await client.sendMessage(sendRequest(userMessage(text, { contextId })))).id);
      }
      await update(ids[0] as string, { state: 'working' });
      const list = (c: typeof client, params: { pageToken?: string; status?: TaskState; after?: string }) =>
        c.listTasks({
          tenant: '',
          contextId,
          status: params.status ?? TaskState.TASK_STATE_UNSPECIFIED,
          pageSize: 2,
          pageToken: params.pageToken ?? '',
          statusTimestampAfter: params.after,
        });
      const first = await list(client, {});
      expect(first.tasks).toHaveLength(2);
      expect(first.totalSize).toBe(3);
      const second = await list(client, { pageToken: first.nextPageToken });
      expect(second.tasks).toHaveLength(1);
      expect(second.totalSize).toBe(3);
      expect([...first.tasks, ...second.tasks].map((t) => t.id).sort()).toEqual([...ids].sort());
      // The same filters for the count: one task is working.
      const working = await list(client, { status: TaskState.TASK_STATE_WORKING });
      expect(working.tasks.map((t) => t.id)).toEqual([ids[0]]);
      expect(working.totalSize).toBe(1);
      expect((await list(client, { after: new Date(Date.now() + 60_000).toISOString() })).totalSize).toBe(0);
      // What the caller may not see is not counted: finance is no party to these tasks.
      const finance = await a2aClient(gateway, as('finance-agent'), '/a2a/legal-agent');
      const theirs = await list(finance, {});
      expect(theirs.tasks).toEqual([]);
      expect(theirs.totalSize).toBe(0);
    });

    it('applies mesh policy and the caller kind as for REST: denied sends name the rule', async () => {
      const legal = await a2aClient(gateway, as('legal-agent'), '/a2a/finance-agent');
      const denied = await legal
        .sendMessage(sendRequest(userMessage('fix the ledger')))
        .catch((e: unknown) => e);
      expect(denied).toBeInstanceOf(Error);
      expect(String((denied as Error).message)).toMatch(/rule|deny|policy/i);
      const raw = await rpc(
        gateway,
        '/a2a/finance-agent',
        as('legal-agent'),
        JSON.stringify({
          jsonrpc: '2.0',
          id: 7,
          method: 'SendMessage',
          params: { message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text: 'fix it' }] } },
        }),
        { 'A2A-Version': '1.0' },
      );
      expect(raw.json).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32040 } });
      expect(raw.json.error.message).toMatch(/rule|deny|policy/i);
      // Nothing was created for the refused send.
      const outbox = await api(gateway, 'GET', '/v1/tasks?agentId=legal-agent&direction=outbound', {
        token: as('legal-agent'),
      });
      expect(outbox.body.items).toHaveLength(0);
    });

    it('shows an approval awaiting its decision as INPUT_REQUIRED, and its decision as the artifact', async () => {
      const approval = await api<Task>(gateway, 'POST', '/v1/approvals', {
        token: as('finance-agent'),
        body: { to: 'manager', subject: 'Q4 budget', details: { amount: 9_000 } },
      });
      expect(approval.status).toBe(202);
      // Through the org endpoint (an approval is addressed to a role, not to one agent).
      const client = await a2aClient(gateway, as('finance-agent'), '');
      const waiting = await client.getTask({ tenant: '', id: approval.body.id });
      expect(waiting.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
      expect(waiting.history[0]?.parts.map((p) => p.content)).toEqual([
        { $case: 'text', value: 'Q4 budget' },
        { $case: 'data', value: { amount: 9_000 } },
      ]);
      const decided = await api<Task>(gateway, 'POST', `/v1/tasks/${approval.body.id}/decision`, {
        token: as('manager-agent'),
        body: { decision: 'approve', comment: 'ok' },
      });
      expect(decided.status).toBe(200);
      const done = await client.getTask({ tenant: '', id: approval.body.id });
      expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      expect(done.artifacts[0]?.name).toBe('decision');
      expect(done.artifacts[0]?.parts[0]?.content).toMatchObject({
        $case: 'data',
        value: { decision: 'approve', comment: 'ok' },
      });
    });

    it('routes by role through the org endpoint (metadata.role) and refuses a message naming none', async () => {
      // The org card is the gateway's own (/.well-known/agent-card.json); its interface is /a2a.
      const client = await a2aClient(gateway, as('manager-agent'), '');
      const task = asTask(
        await client.sendMessage(
          sendRequest(userMessage('to whoever is on legal', { metadata: { role: 'legal' } })),
        ),
      );
      const mesh = await api<Task>(gateway, 'GET', `/v1/tasks/${task.id}`, { token: as('legal-agent') });
      expect(mesh.body.to).toEqual({ role: 'legal', agentId: null });
      await expect(client.sendMessage(sendRequest(userMessage('to nobody')))).rejects.toThrow(
        /metadata\.role/,
      );
      const listed = await client.listTasks({
        tenant: '',
        contextId: task.contextId,
        status: TaskState.TASK_STATE_UNSPECIFIED,
        pageToken: '',
        statusTimestampAfter: undefined,
      });
      expect(listed.tasks.map((t) => t.id)).toEqual([task.id]);
    });

    it("answers malformed JSON-RPC with the spec's codes and serves v0.3 method names", async () => {
      const token = as('manager-agent');
      const call = (body: string, headers?: Record<string, string>) =>
        rpc(gateway, '/a2a/legal-agent', token, body, headers);
      expect((await call('{"jsonrpc": "2.0", "method": ')).json).toMatchObject({
        id: null,
        error: { code: -32700 },
      });
      expect((await call('[]')).json.error.code).toBe(-32600);
      expect((await call('{"jsonrpc":"1.0","id":1,"method":"GetTask"}')).json).toMatchObject({
        id: 1,
        error: { code: -32600 },
      });
      expect((await call('{"jsonrpc":"2.0","id":{},"method":"GetTask"}')).json.error.code).toBe(-32600);
      expect((await call('{"jsonrpc":"2.0","id":2,"method":"NoSuchMethod","params":{}}')).json).toMatchObject(
        {
          id: 2,
          error: { code: -32601 },
        },
      );
      expect((await call('{"jsonrpc":"2.0","id":3,"method":"GetTask","params":[1]}')).json.error.code).toBe(
        -32602,
      );
      expect(
        (
          await call(
            JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'GetTask', params: { id: randomUUID() } }),
          )
        ).json,
      ).toMatchObject({ id: 4, error: { code: -32001 } });
      expect(
        (
          await call('{"jsonrpc":"2.0","id":5,"method":"GetTask","params":{"id":"x"}}', {
            'A2A-Version': '9.9',
          })
        ).json.error.code,
      ).toBe(-32009);

      // v0.3 (`message/send`, `tasks/get`): the SDK's compat layer over the same mesh handler.
      const sent = await call(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 'a',
          method: 'message/send',
          params: {
            message: {
              kind: 'message',
              messageId: randomUUID(),
              role: 'user',
              parts: [{ kind: 'text', text: 'v0.3 hello' }],
            },
            configuration: { blocking: false },
          },
        }),
      );
      expect(sent.status).toBe(200);
      expect(sent.json.result).toMatchObject({ kind: 'task', status: { state: 'submitted' } });
      const got = await call(
        JSON.stringify({ jsonrpc: '2.0', id: 'b', method: 'tasks/get', params: { id: sent.json.result.id } }),
      );
      expect(got.json.result).toMatchObject({ id: sent.json.result.id, kind: 'task' });
      const missing = await call(
        JSON.stringify({ jsonrpc: '2.0', id: 'c', method: 'tasks/get', params: { id: randomUUID() } }),
      );
      expect(missing.json.error.code).toBe(-32001);

      // Transport refusals stay the gateway's: no token 401, unknown agent 404.
      const anonymous = await fetch(`${gateway.url}/a2a/legal-agent`, { method: 'POST', body: '{}' });
      expect(anonymous.status).toBe(401);
      expect((await rpc(gateway, '/a2a/nobody-agent', token, '{}')).status).toBe(404);
    });
  });
  describe('HTTP+JSON (REST) binding, through the SDK’s own REST handler', () => {
    it('sends, streams, gets, lists and cancels over REST, the same mesh tasks as over JSON-RPC', async () => {
      const client = await a2aClient(gateway, as('manager-agent'), '/a2a/legal-agent', 'HTTP+JSON');
      expect(client.transport.protocolName).toBe('HTTP+JSON');
      const contextId = `rest-${randomUUID()}`;
      const task = asTask(await client.sendMessage(sendRequest(userMessage('over REST', { contextId }))));
      const mesh = await api<Task>(gateway, 'GET', `/v1/tasks/${task.id}`, { token: as('legal-agent') });
      expect(mesh.body).toMatchObject({
        to: { agentId: 'legal-agent' },
        contextId,
        input: { text: 'over REST' },
      });

      const events: StreamResponse[] = [];
      const streamed = (async () => {
        for await (const event of client.sendMessageStream(sendRequest(userMessage('stream over REST')))) {
          events.push(event);
        }
      })();
      await expectEventually(() => expect(events).toHaveLength(1));
      const head = events[0]?.payload;
      if (head?.$case !== 'task') throw new Error('expected the task first');
      await update(head.value.id, { state: 'working' });
      await update(head.value.id, { state: 'rejected', reason: 'out of scope' });
      await streamed;
      const last = events[events.length - 1]?.payload;
      expect(last?.$case === 'statusUpdate' && last.value.status?.state).toBe(TaskState.TASK_STATE_REJECTED);

      expect((await client.getTask({ tenant: '', id: task.id })).status?.state).toBe(
        TaskState.TASK_STATE_SUBMITTED,
      );
      const listed = await client.listTasks({
        tenant: '',
        contextId,
        status: TaskState.TASK_STATE_UNSPECIFIED,
        pageToken: '',
        statusTimestampAfter: undefined,
      });
      expect(listed.tasks.map((t) => t.id)).toEqual([task.id]);
      const canceled = await client.cancelTask({ tenant: '', id: task.id, metadata: {} });
      expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
      await expect(client.cancelTask({ tenant: '', id: task.id, metadata: {} })).rejects.toBeInstanceOf(
        TaskNotCancelableError,
      );
      await expect(client.getTask({ tenant: '', id: randomUUID() })).rejects.toBeInstanceOf(
        TaskNotFoundError,
      );
      // Transport refusals stay the gateway's: no token 401, unknown agent 404.
      expect((await fetch(`${gateway.url}/a2a/legal-agent/rest/tasks`)).status).toBe(401);
      const unknown = await api(gateway, 'GET', '/a2a/nobody-agent/rest/tasks', {
        token: as('manager-agent'),
      });
      expect(unknown.status).toBe(404);
    });
  });
});
