import { describe, expect, it } from '@jest/globals';
import { MCP_MESH_TOOLS } from '@orgmesh/contracts';
import { fakeFetch, type RecordedCall } from '../../test/fake-fetch.js';
import { GatewayClient } from '../gateway/gateway.client.js';
import { GatewayError } from '../gateway/gateway.errors.js';
import { StaticTokenSource } from '../gateway/token.provider.js';
import { MESH_TOOLS, completeTask, listTasks, sendTask, type ToolContext } from './mesh.tools.js';
import { toolFailure, toolSuccess } from './tool-result.js';

function context(
  answer: (call: RecordedCall) => { status: number; body?: unknown } = () => ({ status: 200, body: {} }),
) {
  const fake = fakeFetch(answer);
  const ctx: ToolContext = {
    gateway: new GatewayClient({
      gatewayUrl: 'http://gw.test',
      tokens: new StaticTokenSource('t'),
      fetch: fake.fetch,
    }),
    callerRole: async () => 'manager',
  };
  return { ctx, calls: fake.calls };
}

describe('mesh tools', () => {
  it('are the eight tools the registry renders into client configs (MCP_MESH_TOOLS), in its order', () => {
    expect(MESH_TOOLS.map((t) => t.name)).toEqual(MCP_MESH_TOOLS.map(([tool]) => tool));
    expect(MESH_TOOLS.map((t) => t.name)).toEqual([
      'complete_task',
      'fetch_status',
      'get_agent',
      'list_agents',
      'list_tasks',
      'notify',
      'request_approval',
      'send_task',
    ]);
    expect(MESH_TOOLS.filter((t) => t.readOnly).map((t) => t.name)).toEqual([
      'fetch_status',
      'get_agent',
      'list_agents',
      'list_tasks',
    ]);
  });

  it('send_task posts to /v1/tasks, addressing one agent when asked, with a fresh idempotency key unless given', async () => {
    const { ctx, calls } = context();
    await sendTask.run({ to: 'legal', agentId: 'contracts-agent', type: 'sox-review', input: { a: 1 } }, ctx);
    await sendTask.run({ to: 'legal', type: 'nda', idempotencyKey: 'mine' }, ctx);
    expect(calls[0]).toMatchObject({
      method: 'POST',
      body: { to: { role: 'legal', agentId: 'contracts-agent' }, type: 'sox-review', input: { a: 1 } },
    });
    expect(calls[0]?.url.pathname).toBe('/v1/tasks');
    expect(calls[0]?.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(calls[1]).toMatchObject({
      body: { to: 'legal', type: 'nda' },
      headers: { 'idempotency-key': 'mine' },
    });
  });

  it('complete_task decides approvals and reports the outcome of other tasks', async () => {
    const { ctx, calls } = context();
    const id = '2d7d8a53-63a4-4b4e-9a8e-2a8f0a0b6d11';
    await completeTask.run({ taskId: id, decision: 'reject', comment: 'over budget' }, ctx);
    await completeTask.run({ taskId: id, result: { ok: true } }, ctx);
    await completeTask.run(
      { taskId: id, outcome: 'failed', reason: 'no data', result: { ignored: true } },
      ctx,
    );
    expect(calls.map((c) => [c.url.pathname, c.body])).toEqual([
      [`/v1/tasks/${id}/decision`, { decision: 'reject', comment: 'over budget' }],
      [`/v1/tasks/${id}/updates`, { state: 'completed', result: { ok: true } }],
      [`/v1/tasks/${id}/updates`, { state: 'failed', reason: 'no data' }],
    ]);
    await expect(
      completeTask.run({ taskId: id, decision: 'approve', outcome: 'failed' }, ctx),
    ).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it("list_tasks filters on the caller's role from its token, direction any by default", async () => {
    const { ctx, calls } = context(() => ({ status: 200, body: { items: [], nextCursor: null } }));
    await listTasks.run({ state: 'submitted' }, ctx);
    expect(Object.fromEntries(calls[0]?.url.searchParams ?? [])).toEqual({
      role: 'manager',
      direction: 'any',
      state: 'submitted',
      limit: '20',
    });
  });
});

describe('tool results', () => {
  it('returns the answer as compact JSON text and as structured content', () => {
    expect(toolSuccess({ id: 'x', n: [1, 2] })).toEqual({
      content: [{ type: 'text', text: '{"id":"x","n":[1,2]}' }],
      structuredContent: { id: 'x', n: [1, 2] },
    });
    expect(toolSuccess([1]).structuredContent).toEqual({ value: [1] });
  });

  it('puts the stable code first in a tool error, with the problem members after it', () => {
    const failure = toolFailure(
      new GatewayError('policy_denied', 'finance may not send tasks to legal', 403, { rule: 'default-deny' }),
    );
    expect(failure.isError).toBe(true);
    expect(failure.content[0]).toEqual({
      type: 'text',
      text: 'policy_denied: finance may not send tasks to legal\n{\n  "status": 403,\n  "rule": "default-deny"\n}',
    });
    expect(failure.structuredContent).toEqual({
      error: {
        code: 'policy_denied',
        message: 'finance may not send tasks to legal',
        status: 403,
        rule: 'default-deny',
      },
    });
    expect(toolFailure(new GatewayError('task_not_found', 'task x not found', 404)).content[0]).toEqual({
      type: 'text',
      text: 'task_not_found: task x not found',
    });
    expect(toolFailure(new Error('boom: a@example.test')).content[0]).toEqual({
      type: 'text',
      text: 'internal: internal error',
    });
  });
});
