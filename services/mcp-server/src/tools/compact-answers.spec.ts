import { describe, expect, it } from '@jest/globals';
import { fakeFetch, type RecordedCall } from '../../test/fake-fetch.js';
import { GatewayClient } from '../gateway/gateway.client.js';
import { StaticTokenSource } from '../gateway/token.provider.js';
import { clip, withoutNulls } from './compact-answers.js';
import { fetchStatus, getAgent, listAgents, listTasks, type ToolContext } from './mesh.tools.js';
import { toolSuccess } from './tool-result.js';

function context(answer: (call: RecordedCall) => { status: number; body?: unknown }) {
  const fake = fakeFetch(answer);
  const ctx: ToolContext = {
    gateway: new GatewayClient({
      gatewayUrl: 'http://gw.test',
      tokens: new StaticTokenSource('t'),
      fetch: fake.fetch,
    }),
    callerRole: async () => 'finance',
  };
  return { ctx, calls: fake.calls };
}

const LONG = 'Reviews contracts, NDAs and vendor agreements. '.repeat(6);
function agentItem(i: number) {
  return {
    agent: {
      id: `agent-${i}`,
      role: 'legal',
      profile: null,
      displayName: `Agent ${i}`,
      description: LONG,
      model: { provider: 'anthropic', name: 'claude-sonnet-4-5' },
      tools: ['read', 'edit'],
      delegatesTo: [],
      cannotAccess: ['hr/**', 'finance/payroll/**'],
      exclusiveAccess: ['legal/contracts/**'],
      responsibilities: ['Review contracts', 'Draft NDAs', 'Keep the clause library current'],
      forbidden: ['Sign anything'],
    },
    presence: { online: i % 2 === 0, lastSeenAt: null, reportedConfigHash: null, drift: i === 3 },
  };
}
const TASK = {
  id: '2d7d8a53-63a4-4b4e-9a8e-2a8f0a0b6d11',
  kind: 'approval',
  from: { agentId: 'finance-agent', role: 'finance' },
  to: { role: 'manager', agentId: null },
  assignee: null,
  type: null,
  subject: 'Q1 engineering budget: $125K, including the new build farm and two contractors for the migration',
  input: null,
  details: { amount: 125_000, note: null },
  message: null,
  priority: 'normal',
  state: 'submitted',
  reason: null,
  contextId: 'budget-q1',
  deadline: '2026-12-07T12:00:00.000Z',
  escalateAt: null,
  result: null,
  decision: null,
  escalatedTo: null,
  escalatedAt: null,
  version: 1,
  createdAt: '2026-12-06T12:00:00.000Z',
  updatedAt: '2026-12-06T12:00:00.000Z',
};

describe('compact answers', () => {
  it('list_agents answers one small object per agent, and the gateway page in full on detail: true', async () => {
    const page = {
      items: Array.from({ length: 26 }, (_, i) => agentItem(i)),
      nextCursor: 'next',
      version: 7,
    };
    const { ctx } = context(() => ({ status: 200, body: page }));
    const compact = toolSuccess(await listAgents.run({}, ctx));
    const full = toolSuccess(await listAgents.run({ detail: true }, ctx));
    const text = (result: typeof compact) => (result.content[0] as { text: string }).text;
    expect(compact.structuredContent?.['nextCursor']).toBe('next');
    expect((compact.structuredContent?.['items'] as unknown[])[3]).toEqual({
      id: 'agent-3',
      role: 'legal',
      name: 'Agent 3',
      about: `${LONG.trim().slice(0, 99)}…`,
      online: false,
      drift: true,
    });
    expect(JSON.parse(text(compact)).items[0]).not.toHaveProperty('drift');
    expect(JSON.parse(text(full))).toEqual(page);
    expect(text(compact).length).toBeLessThan(26 * 220);
    expect(text(compact).length * 4).toBeLessThan(text(full).length);
  });

  it('list_tasks answers one line per task; fetch_status and get_agent give one record in full, without nulls', async () => {
    const { ctx, calls } = context((call) => ({
      status: 200,
      body: call.url.pathname === '/v1/tasks' ? { items: [TASK], nextCursor: null } : TASK,
    }));
    expect(await listTasks.run({}, ctx)).toEqual({
      items: [
        {
          id: TASK.id,
          kind: 'approval',
          state: 'submitted',
          priority: 'normal',
          from: 'finance-agent',
          to: 'manager',
          what: clip(TASK.subject),
          contextId: 'budget-q1',
          deadline: TASK.deadline,
          updatedAt: TASK.updatedAt,
        },
      ],
      nextCursor: null,
    });
    expect(await listTasks.run({ detail: true }, ctx)).toEqual({ items: [TASK], nextCursor: null });
    const one = (await fetchStatus.run({ taskId: TASK.id }, ctx)) as Record<string, unknown>;
    expect(one).toMatchObject({
      id: TASK.id,
      subject: TASK.subject,
      details: { amount: 125_000, note: null },
    });
    expect(Object.values(one)).not.toContain(null);
    await getAgent.run({ agentId: 'contracts-agent' }, ctx);
    expect(calls.at(-1)?.url.pathname).toBe('/v1/agents/contracts-agent');
  });

  it('clips to one line, and drops only top-level nulls', () => {
    expect(clip('a\n  b')).toBe('a b');
    expect(clip('x'.repeat(150))).toHaveLength(100);
    expect(withoutNulls({ a: null, b: { c: null }, d: 0 })).toEqual({ b: { c: null }, d: 0 });
    expect(withoutNulls([null])).toEqual([null]);
  });
});
