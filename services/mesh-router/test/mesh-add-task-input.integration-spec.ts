import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AddTaskInput, CancelTask, GetTask, RequestApproval, SendTask, type Task } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { expectEventually, type TestAgent, type TestContext } from '@orgmesh/testing';
import type { MeshRouterApp } from '../src/mesh-router.app.js';
import {
  DEMO_CHART,
  DEMO_RULES,
  LocalIssuer,
  RegistryResponder,
  bearer,
  clientBus,
  createTestContext,
  rpcError,
  startTestMeshRouter,
  testAgent,
} from './mesh-harness.js';

// rpc.mesh.v1.add-task-input (issue 25, ADR 0018): the sender's further input to its open task.
describe('AddTaskInput over NATS and Postgres', () => {
  let ctx: TestContext;
  let issuer: LocalIssuer;
  let mesh: MeshRouterApp;
  let bus: MessageBus;
  let registry: RegistryResponder;
  let legalAgent: TestAgent;
  const tokens: Record<string, string> = {};
  const as = (agent: string) => ({ authorization: tokens[agent] as string });

  beforeAll(async () => {
    ctx = await createTestContext();
    issuer = await LocalIssuer.create();
    bus = await clientBus(ctx);
    registry = new RegistryResponder(bus, [...DEMO_RULES], DEMO_CHART).start();
    mesh = await startTestMeshRouter(ctx, issuer, { startJobs: false });
    for (const [agent, role] of [
      ['manager-agent', 'manager'],
      ['legal-agent', 'legal'],
      ['finance-agent', 'finance'],
    ] as const) {
      tokens[agent] = await bearer(issuer, agent, role);
    }
    // Legal's agent takes nothing: it only records what its inboxes deliver.
    legalAgent = await testAgent(ctx, issuer, 'legal-agent', 'legal', { kind: 'ignore' });
  });

  afterAll(async () => {
    await legalAgent?.stop();
    registry?.stop();
    await bus?.close();
    await mesh?.close();
    await ctx?.dispose();
  });

  it("replaces the input, records it, and delivers the task again to its recipient's inbox", async () => {
    const task = await bus.request(
      SendTask,
      { to: 'legal', type: 'review', input: { text: 'first' } },
      as('manager-agent'),
    );
    await expectEventually(() => expect(legalAgent.received.map((t) => t.id)).toContain(task.id));

    const added = await bus.request(
      AddTaskInput,
      { id: task.id, input: { text: 'second' } },
      as('manager-agent'),
    );
    expect(added).toMatchObject({ id: task.id, state: 'submitted', version: 2, input: { text: 'second' } });
    const stored = await bus.request(GetTask, { id: task.id, includeHistory: true }, as('manager-agent'));
    expect(stored.input).toEqual({ text: 'second' });
    expect(stored.history?.map((h) => h.event)).toEqual(['create', 'input']);
    // Unassigned: the role's inbox gets it again, with the new input.
    await expectEventually(() =>
      expect(
        legalAgent.received.filter((t) => t.id === task.id).map((t) => (t.input as { text: string }).text),
      ).toEqual(['first', 'second']),
    );
    // The same input again changes nothing.
    const again = await bus.request(
      AddTaskInput,
      { id: task.id, input: { text: 'second' } },
      as('manager-agent'),
    );
    expect(again.version).toBe(2);
    // Also when the stored input (Postgres jsonb) has its keys in another order than the sender's.
    const shaped = { text: 'third', a2a: { message: { messageId: 'm-3', role: 'ROLE_USER' } } };
    expect(
      (await bus.request(AddTaskInput, { id: task.id, input: shaped }, as('manager-agent'))).version,
    ).toBe(3);
    const retried = await bus.request(AddTaskInput, { id: task.id, input: shaped }, as('manager-agent'));
    expect(retried.version).toBe(3);
  });

  it('takes input from the sender of an open task only: others are forbidden, a finished task or an approval illegal', async () => {
    const task: Task = await bus.request(
      SendTask,
      { to: 'legal', type: 'review', input: { text: 'x' } },
      as('manager-agent'),
    );
    // The recipient sees the task but did not send it; finance is no party to it.
    for (const other of ['legal-agent', 'finance-agent']) {
      const refused = await rpcError(
        bus.request(AddTaskInput, { id: task.id, input: { text: 'y' } }, as(other)),
      );
      expect(refused.code).toBe('forbidden');
    }
    await bus.request(CancelTask, { id: task.id }, as('manager-agent'));
    const finished = await rpcError(
      bus.request(AddTaskInput, { id: task.id, input: { text: 'y' } }, as('manager-agent')),
    );
    expect(finished.code).toBe('task_illegal_transition');
    expect(finished.message).toContain('canceled');

    const approval = await bus.request(
      RequestApproval,
      { to: 'manager', subject: 'Spend 10k', details: { amount: 10_000 } },
      as('finance-agent'),
    );
    const notATask = await rpcError(
      bus.request(AddTaskInput, { id: approval.id, input: { amount: 20_000 } }, as('finance-agent')),
    );
    expect(notATask.code).toBe('task_illegal_transition');
    expect(
      (await bus.request(GetTask, { id: task.id, includeHistory: false }, as('manager-agent'))).input,
    ).toEqual({
      text: 'x',
    });
  });
});
