import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import {
  GetTask,
  ListTasks,
  Notify,
  RequestApproval,
  SendTask,
  type RecipientInput,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { expectEventually, type TestAgent, type TestContext } from '@orgmesh/testing';
import type { MeshRouterApp } from '../src/mesh-router.app.js';
import {
  DEMO_CHART,
  LocalIssuer,
  RegistryResponder,
  bearer,
  clientBus,
  createTestContext,
  rpcError,
  startTestMeshRouter,
  testAgent,
  type PolicyRule,
} from './mesh-harness.js';

/** Issue 17: `to: "accounts-payable-agent"` was stored as a role of that name, which its agent could not read. */
const AGENTS: Record<string, string> = {
  'accounts-payable-agent': 'finance',
  'treasury-agent': 'finance',
  'finance-agent': 'finance',
  'manager-agent': 'manager',
  'legal-agent': 'legal',
};
const RULES: PolicyRule[] = [
  { from: 'finance', to: 'finance', kind: 'task', rule: 'profile finance: mesh.sendTaskTo[0] = finance' },
  { from: 'finance', to: 'manager', kind: 'approval', rule: 'profile finance: mesh.requestApprovalFrom[0]' },
  { from: 'finance', to: 'manager', kind: 'notification', rule: 'profile finance: mesh.notify[1] = manager' },
  { from: 'legal', to: 'legal', kind: 'task', rule: 'profile legal: mesh.sendTaskTo[0] = legal' },
];

describe('a recipient means one thing: resolved against the registry, stored as resolved', () => {
  let ctx: TestContext;
  let issuer: LocalIssuer;
  let mesh: MeshRouterApp;
  let bus: MessageBus;
  let registry: RegistryResponder;
  let admin: string;
  const token: Record<string, string> = {};
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    ctx = await createTestContext();
    issuer = await LocalIssuer.create();
    bus = await clientBus(ctx);
    registry = new RegistryResponder(bus, RULES, DEMO_CHART, AGENTS).start();
    mesh = await startTestMeshRouter(ctx, issuer, { startJobs: false });
    for (const [agentId, role] of Object.entries(AGENTS))
      token[agentId] = await bearer(issuer, agentId, role);
    admin = await bearer(issuer, 'ops-admin', 'admin', 'orgmesh:admin');
  });

  afterAll(async () => {
    await Promise.allSettled(agents.map((a) => a.stop()));
    registry?.stop();
    await bus?.close();
    await mesh?.close();
    await ctx?.dispose();
  });

  const as = (agentId: string) => ({ authorization: token[agentId] as string });
  const storedIn = async (contextId: string) =>
    (await bus.request(ListTasks, { contextId, direction: 'any', limit: 10 }, { authorization: admin }))
      .items;

  it('stores a bare agent id as that agent of its role, checks the policy for it, and the agent reads and works it', async () => {
    const payables = await testAgent(ctx, issuer, 'accounts-payable-agent', 'finance', {
      kind: 'complete',
      result: { paid: true },
    });
    agents.push(payables);
    const contextId = `ap-${randomUUID()}`;
    const task = await bus.request(
      SendTask,
      { to: 'accounts-payable-agent', type: 'pay-invoice', contextId },
      as('finance-agent'),
    );
    expect(task.to).toEqual({ role: 'finance', agentId: 'accounts-payable-agent' });
    expect(registry.policyRequests).toContainEqual({
      from: 'finance',
      to: 'accounts-payable-agent',
      kind: 'task',
    });

    const read = await bus.request(
      GetTask,
      { id: task.id, includeHistory: true },
      as('accounts-payable-agent'),
    );
    expect(read.to).toEqual(task.to);
    // Addressed to one agent, not to the role: another agent of finance may not read it.
    expect((await rpcError(bus.request(GetTask, { id: task.id }, as('treasury-agent')))).code).toBe(
      'forbidden',
    );
    const done = await expectEventually(async () => {
      const current = await bus.request(GetTask, { id: task.id }, as('finance-agent'));
      expect(current.state).toBe('completed');
      return current;
    });
    expect(done.assignee).toEqual({ agentId: 'accounts-payable-agent', role: 'finance' });
    expect(payables.received.map((t) => t.id)).toContain(task.id);
  });

  it('resolves {agentId} the same way, for tasks, approvals and notifications', async () => {
    const contextId = `by-object-${randomUUID()}`;
    const task = await bus.request(
      SendTask,
      { to: { agentId: 'accounts-payable-agent' }, type: 'pay-invoice', contextId },
      as('finance-agent'),
    );
    expect(task.to).toEqual({ role: 'finance', agentId: 'accounts-payable-agent' });
    expect((await bus.request(GetTask, { id: task.id }, as('accounts-payable-agent'))).id).toBe(task.id);

    const approval = await bus.request(
      RequestApproval,
      { to: 'manager-agent', subject: 'Supplier payment', contextId },
      as('finance-agent'),
    );
    expect(approval.to).toEqual({ role: 'manager', agentId: 'manager-agent' });
    const note = await bus.request(
      Notify,
      { to: { agentId: 'manager-agent' }, message: 'Invoice paid', contextId },
      as('finance-agent'),
    );
    expect(note.to).toEqual({ role: 'manager', agentId: 'manager-agent' });
    for (const t of [approval, note])
      expect((await bus.request(GetTask, { id: t.id }, as('manager-agent'))).to.agentId).toBe(
        'manager-agent',
      );
  });

  it('keeps a role string a role inbox that any agent of the role may read', async () => {
    const task = await bus.request(
      SendTask,
      { to: 'finance', type: 'close-books', contextId: `role-${randomUUID()}` },
      as('finance-agent'),
    );
    expect(task.to).toEqual({ role: 'finance', agentId: null });
    expect((await bus.request(GetTask, { id: task.id }, as('treasury-agent'))).id).toBe(task.id);
    const viaObject = await bus.request(
      SendTask,
      { to: { role: 'finance' }, type: 'close-books', contextId: `role-${randomUUID()}` },
      as('finance-agent'),
    );
    expect(viaObject.to).toEqual({ role: 'finance', agentId: null });
  });

  it('refuses {role, agentId} when the agent does not act for that role, storing nothing', async () => {
    const contextId = `wrong-role-${randomUUID()}`;
    const error = await rpcError(
      bus.request(
        SendTask,
        { to: { role: 'legal', agentId: 'finance-agent' }, type: 'review', contextId },
        as('accounts-payable-agent'),
      ),
    );
    expect(error.code).toBe('validation_failed');
    expect(error.details).toEqual({
      issues: [{ path: 'to.agentId', message: 'not an agent of role legal' }],
    });
    // The policy is evaluated for the agent's own role first: legal may not send finance a task.
    const denied = await rpcError(
      bus.request(
        SendTask,
        { to: { role: 'legal', agentId: 'finance-agent' }, type: 'review', contextId },
        as('legal-agent'),
      ),
    );
    expect(denied.code).toBe('policy_denied');
    expect(denied.details).toMatchObject({ from: 'legal', to: 'finance-agent', kind: 'task' });
    expect(await storedIn(contextId)).toEqual([]);
  });

  it('refuses a name that is neither an agent nor a role, or is named in the wrong form, storing nothing', async () => {
    const contextId = `unknown-${randomUUID()}`;
    const cases: Array<[RecipientInput, string, RegExp]> = [
      ['accounts-payable', 'to', /no agent or role "accounts-payable"/],
      [{ agentId: 'accounts-payable' }, 'to.agentId', /no agent "accounts-payable"/],
      [{ role: 'payables' }, 'to.role', /no role "payables"/],
      [{ role: 'accounts-payable-agent' }, 'to.role', /is an agent, not a role/],
      [{ agentId: 'finance' }, 'to.agentId', /is a role, not an agent/],
    ];
    for (const [to, path, message] of cases) {
      const error = await rpcError(
        bus.request(SendTask, { to, type: 'pay-invoice', contextId }, as('finance-agent')),
      );
      expect({
        to,
        code: error.code,
        path: (error.details?.['issues'] as Array<{ path: string }>)[0]?.path,
      }).toEqual({ to, code: 'validation_failed', path });
      expect(error.message).toMatch(message);
    }
    expect(await storedIn(contextId)).toEqual([]);
  });
});
