import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import {
  CancelTask,
  GetTask,
  MESH_INBOX_STREAM,
  Notify,
  RequestApproval,
  SendTask,
  UpdateTask,
  agentUpdatesSubject,
  roleInboxDurable,
  type Task,
  type TaskChange,
} from '@orgmesh/contracts';
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
  startTestMeshRouter,
  testAgent,
} from './mesh-harness.js';

const RULES = [
  ...DEMO_RULES,
  {
    from: 'manager',
    to: 'audit',
    kind: 'task' as const,
    rule: 'profile manager-default: mesh.sendTaskTo[1] = audit',
  },
  {
    from: 'manager',
    to: 'flaky',
    kind: 'task' as const,
    rule: 'profile manager-default: mesh.sendTaskTo[2] = flaky',
  },
];

describe('mesh delivery, deadlines and escalation', () => {
  let ctx: TestContext;
  let issuer: LocalIssuer;
  let mesh: MeshRouterApp;
  let bus: MessageBus;
  let registry: RegistryResponder;
  let finance: string;
  let manager: string;
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    ctx = await createTestContext();
    issuer = await LocalIssuer.create();
    bus = await clientBus(ctx);
    registry = new RegistryResponder(bus, RULES, DEMO_CHART).start();
    // This file runs with the outbox relay as the only publisher; mesh-router.integration-spec runs the eager path.
    mesh = await startTestMeshRouter(ctx, issuer, {
      overrides: { MESH_DEADLINE_SWEEP_INTERVAL: '100ms', MESH_EAGER_PUBLISH: 'false' },
    });
    [finance, manager] = await Promise.all([
      bearer(issuer, 'finance-agent', 'finance'),
      bearer(issuer, 'manager-agent', 'manager'),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled(agents.map((a) => a.stop()));
    registry?.stop();
    await bus?.close();
    await mesh?.close();
    await ctx?.dispose();
  });

  const get = (id: string, authorization = manager): Promise<Task> =>
    bus.request(GetTask, { id }, { authorization });

  it("repeats each change the relay publishes on the sender's own updates subject", async () => {
    const heard: string[] = [];
    const sub = bus.nc.subscribe(bus.subject(agentUpdatesSubject('finance-agent')!), {
      callback: (error, msg) => void (error === null && heard.push(msgSummary(msg.json<TaskChange>()))),
    });
    await bus.nc.flush();
    const approval = await bus.request(
      RequestApproval,
      { to: 'manager', subject: 'Relayed' },
      { authorization: finance },
    );
    await bus.request(UpdateTask, { id: approval.id, state: 'working' }, { authorization: manager });
    // The relay (the only publisher in this file) repeats it after the JetStream ack; the create is not repeated.
    await expectEventually(() => expect(heard).toContain(`${approval.id}:start:working`));
    expect(heard.filter((h) => h.startsWith(approval.id))).toEqual([`${approval.id}:start:working`]);
    // Ended, so the escalation tests below never see it.
    await bus.request(CancelTask, { id: approval.id }, { authorization: finance });
    await expectEventually(() => expect(heard).toContain(`${approval.id}:cancel:canceled`));
    sub.unsubscribe();
  });

  it('redelivers to an agent that crashed before acking, and records its result once', async () => {
    const first = await testAgent(
      ctx,
      issuer,
      'legal-agent',
      'legal',
      { kind: 'crash-before-ack', result: { opinion: 'ok' } },
      { ackWaitMs: 1000 },
    );
    agents.push(first);
    const task = await bus.request(
      SendTask,
      { to: 'legal', type: 'contract-review', input: { contract: 'MSA-7' } },
      { authorization: manager },
    );
    await expectEventually(async () => {
      expect(first.received.map((t) => t.id)).toEqual([task.id]);
      expect((await get(task.id)).state).toBe('completed');
    });
    // The process comes back (same agent id) and gets the unacknowledged delivery again.
    const restarted = await testAgent(
      ctx,
      issuer,
      'legal-agent',
      'legal',
      { kind: 'crash-before-ack', result: { opinion: 'ok' } },
      { ackWaitMs: 1000 },
    );
    agents.push(restarted);
    await expectEventually(() => expect(restarted.received.map((t) => t.id)).toEqual([task.id]), {
      timeoutMs: 15_000,
    });
    await expectEventually(async () => {
      const info = await bus.jsm.consumers.info(
        bus.streamName(MESH_INBOX_STREAM),
        bus.durableName(roleInboxDurable('legal')),
      );
      expect(info.num_ack_pending + info.num_pending).toBe(0);
    });
    const done = await get(task.id);
    expect(done.result).toEqual({ opinion: 'ok' });
    expect(done.history?.map((h) => h.event)).toEqual(['create', 'start', 'complete']);
    expect(done.version).toBe(3);
    await restarted.stop();
  });

  it('keeps a task queued while no agent of the role is online and delivers it when one comes online', async () => {
    const task = await bus.request(
      SendTask,
      { to: 'audit', type: 'ledger-check', input: { quarter: 'Q3' } },
      { authorization: manager },
    );
    await expectEventually(async () => {
      const info = await bus.jsm.streams.info(bus.streamName(MESH_INBOX_STREAM));
      expect(info.state.messages).toBeGreaterThanOrEqual(1);
    });
    expect((await get(task.id)).state).toBe('submitted');
    const auditor = await testAgent(ctx, issuer, 'audit-agent', 'audit', {
      kind: 'complete',
      result: { balanced: true },
    });
    agents.push(auditor);
    await expectEventually(async () =>
      expect(await get(task.id)).toMatchObject({
        state: 'completed',
        result: { balanced: true },
        assignee: { agentId: 'audit-agent' },
      }),
    );
    expect(auditor.received.map((t) => t.id)).toEqual([task.id]);
    await auditor.stop();
  });

  it('delivers a task for one agent to that agent only, and a notification is acknowledged on receipt', async () => {
    const [shared, chosen, financeAgent] = await Promise.all([
      testAgent(ctx, issuer, 'audit-agent', 'audit', { kind: 'complete', result: { by: 'audit-agent' } }),
      testAgent(ctx, issuer, 'audit-2', 'audit', { kind: 'complete', result: { by: 'audit-2' } }),
      testAgent(ctx, issuer, 'finance-agent', 'finance', { kind: 'complete' }),
    ]);
    agents.push(shared, chosen, financeAgent);
    const direct = await bus.request(
      SendTask,
      { to: { role: 'audit', agentId: 'audit-2' }, type: 'second-opinion' },
      { authorization: manager },
    );
    expect(direct.to).toEqual({ role: 'audit', agentId: 'audit-2' });
    await expectEventually(async () =>
      expect(await get(direct.id)).toMatchObject({ state: 'completed', result: { by: 'audit-2' } }),
    );
    expect(shared.received.map((t) => t.id)).not.toContain(direct.id);

    const note = await bus.request(
      Notify,
      { to: 'finance', message: 'Budget approved', priority: 'high' },
      { authorization: manager },
    );
    const acknowledged = await expectEventually(async () => {
      const current = await get(note.id);
      expect(current.state).toBe('completed');
      return current;
    });
    expect(acknowledged).toMatchObject({
      kind: 'notification',
      message: 'Budget approved',
      priority: 'high',
      assignee: { agentId: 'finance-agent' },
    });
    expect(acknowledged.history?.map((h) => h.event)).toEqual(['create', 'complete']);
    await Promise.all([shared.stop(), chosen.stop(), financeAgent.stop()]);
  });

  it('fails a task as undeliverable after its delivery exhausted the attempts', async () => {
    const flaky = await testAgent(
      ctx,
      issuer,
      'flaky-agent',
      'flaky',
      { kind: 'fail-delivery' },
      { maxDeliver: 3 },
    );
    agents.push(flaky);
    const task = await bus.request(SendTask, { to: 'flaky', type: 'anything' }, { authorization: manager });
    const failed = await expectEventually(async () => {
      const current = await get(task.id);
      expect(current.state).toBe('failed');
      return current;
    });
    expect(failed.reason).toBe('undeliverable');
    expect(flaky.received.filter((t) => t.id === task.id)).toHaveLength(3);
    expect(failed.history?.map((h) => [h.event, h.actor, h.reason])).toEqual([
      ['create', 'manager-agent', null],
      ['fail', 'system', 'undeliverable'],
    ]);
    await flaky.stop();
  });

  it('times out a task nobody takes at its deadline', async () => {
    const deadline = new Date(Date.now() + 700).toISOString();
    const task = await bus.request(
      SendTask,
      { to: 'audit', type: 'too-late', deadline },
      { authorization: manager },
    );
    expect(task.deadline).toBe(deadline);
    const expired = await expectEventually(async () => {
      const current = await get(task.id);
      expect(current.state).toBe('failed');
      return current;
    });
    expect(expired.reason).toBe('deadline_exceeded');
    expect(Date.parse(expired.updatedAt)).toBeGreaterThanOrEqual(Date.parse(deadline));
    expect(expired.history?.map((h) => [h.event, h.actor])).toEqual([
      ['create', 'manager-agent'],
      ['expire', 'system'],
    ]);
  });

  it("escalates an undecided approval once to the approver's manager, who decides it", async () => {
    const cfo = await testAgent(ctx, issuer, 'cfo-agent', 'executive', {
      kind: 'decide',
      decision: 'approve',
      comment: 'escalated: approved',
    });
    agents.push(cfo);
    const deadline = new Date(Date.now() + 3000).toISOString();
    const approval = await bus.request(
      RequestApproval,
      { to: 'manager', subject: 'Urgent spend', deadline },
      { authorization: finance },
    );
    const decided = await expectEventually(async () => {
      const current = await get(approval.id, finance);
      expect(current.state).toBe('completed');
      return current;
    });
    expect(decided.escalatedTo).toEqual({ userId: 'cfo', role: 'executive', name: 'User cfo' });
    expect(Date.parse(decided.escalatedAt!)).toBeGreaterThanOrEqual(Date.parse(approval.escalateAt!));
    expect(Date.parse(decided.escalatedAt!)).toBeLessThan(Date.parse(deadline));
    expect(decided.decision).toMatchObject({
      decision: 'approve',
      decidedBy: { agentId: 'cfo-agent', role: 'executive' },
    });
    expect(decided.history?.map((h) => [h.event, h.actor])).toEqual([
      ['create', 'finance-agent'],
      ['escalate', 'system'],
      ['start', 'cfo-agent'],
      ['decide', 'cfo-agent'],
    ]);
    await cfo.stop();
  });

  it('times out an escalated approval nobody decides, escalating only once', async () => {
    const silent = await testAgent(ctx, issuer, 'cfo-agent', 'executive', { kind: 'ignore' });
    agents.push(silent);
    const deadline = new Date(Date.now() + 1200).toISOString();
    const approval = await bus.request(
      RequestApproval,
      { to: 'manager', subject: `Ignored ${randomUUID()}`, deadline },
      { authorization: finance },
    );
    const expired = await expectEventually(async () => {
      const current = await get(approval.id, finance);
      expect(current.state).toBe('failed');
      return current;
    });
    expect(expired.reason).toBe('deadline_exceeded');
    expect(expired.history?.map((h) => h.event)).toEqual(['create', 'escalate', 'expire']);
    expect(silent.received.map((t) => t.id)).toContain(approval.id);
    await silent.stop();
  });

  it('records an escalation without a manager and still times out', async () => {
    // Approvals addressed to the top of the chart have nobody to escalate to.
    registry.rules.push({
      from: 'finance',
      to: 'executive',
      kind: 'approval',
      rule: 'profile finance-default: mesh.requestApprovalFrom[1] = executive',
    });
    const deadline = new Date(Date.now() + 800).toISOString();
    const approval = await bus.request(
      RequestApproval,
      { to: 'executive', subject: 'To the top', deadline },
      { authorization: finance },
    );
    const expired = await expectEventually(async () => {
      const current = await get(approval.id, finance);
      expect(current.state).toBe('failed');
      return current;
    });
    expect(expired.escalatedTo).toBeNull();
    expect(expired.history?.map((h) => [h.event, h.reason])).toEqual([
      ['create', null],
      ['escalate', 'no manager to escalate to'],
      ['expire', 'deadline_exceeded'],
    ]);
  });
});

function msgSummary(change: TaskChange): string {
  return `${change.task.id}:${change.change.event}:${change.task.state}`;
}
