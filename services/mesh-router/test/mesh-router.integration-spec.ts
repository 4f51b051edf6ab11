import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { headers as natsHeaders } from '@nats-io/nats-core';
import {
  CancelTask,
  Decide,
  GetTask,
  ListSessionTransitions,
  ListSessions,
  ListTasks,
  Notify,
  ProfilePublished,
  RequestApproval,
  SendTask,
  TaskCreated,
  TaskUpdated,
  UpdateTask,
  agentUpdatesSubject,
  type Task,
  type TaskChange,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { Database } from '@orgmesh/persistence';
import { expectEventually, type TestAgent, type TestContext } from '@orgmesh/testing';
// The sessions service runs in the same test so its mesh consumer can be observed end to end.
import { startTestSessions, trustLocalIssuer, type SessionsApp } from '@orgmesh/sessions/testing';
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

describe('mesh router over NATS and Postgres', () => {
  let ctx: TestContext;
  let issuer: LocalIssuer;
  let mesh: MeshRouterApp;
  let sessions: SessionsApp;
  let bus: MessageBus;
  let registry: RegistryResponder;
  let finance: string;
  let manager: string;
  let legal: string;
  let opsAdmin: { authorization: string };
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    ctx = await createTestContext();
    issuer = await LocalIssuer.create();
    bus = await clientBus(ctx);
    registry = new RegistryResponder(bus, [...DEMO_RULES], DEMO_CHART).start();
    mesh = await startTestMeshRouter(ctx, issuer, {
      overrides: {
        MESH_RATE_LIMIT_BURST: '20',
        MESH_RATE_LIMIT_PER_SECOND: '2',
        MESH_MAX_PAYLOAD_BYTES: '4096',
      },
    });
    // The sessions service verifies its callers too: it trusts the same issuer.
    trustLocalIssuer(ctx, issuer);
    sessions = await startTestSessions(ctx);
    opsAdmin = { authorization: await bearer(issuer, 'ops-admin', 'admin', 'orgmesh:admin') };
    [finance, manager, legal] = await Promise.all([
      bearer(issuer, 'finance-agent', 'finance'),
      bearer(issuer, 'manager-agent', 'manager'),
      bearer(issuer, 'legal-agent', 'legal'),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled(agents.map((a) => a.stop()));
    registry?.stop();
    await bus?.close();
    await sessions?.close();
    await mesh?.close();
    await ctx?.dispose();
  });

  async function transitionsOf(agentId: string, contextId: string): Promise<string[]> {
    const { items } = await bus.request(ListSessions, { agentId, contextId, limit: 10 }, opsAdmin);
    expect(items).toHaveLength(1);
    const { items: transitions } = await bus.request(ListSessionTransitions, { id: items[0]!.id }, opsAdmin);
    return transitions.map((t) => `${t.from}>${t.to}`);
  }

  it('Finance asks Manager for approval, Manager consults Legal, Finance sees the decision; histories and sessions follow', async () => {
    const contextId = `budget-${randomUUID()}`;
    let consultation: Task | undefined;
    const legalAgent = await testAgent(ctx, issuer, 'legal-agent', 'legal', {
      kind: 'complete',
      result: { sox: 'compliant', findings: [] },
    });
    const managerAgent = await testAgent(ctx, issuer, 'manager-agent', 'manager', {
      kind: 'custom',
      async handle(task, agent) {
        await agent.update(task.id, 'working');
        consultation = await agent.bus.request(
          SendTask,
          {
            to: 'legal',
            type: 'sox-review',
            input: { approval: task.id, amount: 120_000 },
            contextId: task.contextId,
          },
          { authorization: agent.authorization },
        );
        const review = await expectEventually(async () => {
          const current = await agent.bus.request(
            GetTask,
            { id: consultation!.id },
            { authorization: agent.authorization },
          );
          expect(current.state).toBe('completed');
          return current;
        });
        await agent.decide(task.id, 'approve', `Legal: ${(review.result as { sox: string }).sox}`);
      },
    });
    agents.push(legalAgent, managerAgent);

    const approval = await bus.request(
      RequestApproval,
      {
        to: 'manager',
        subject: 'Q3 hardware budget',
        details: { amount: 120_000, currency: 'EUR' },
        contextId,
      },
      { authorization: finance },
    );
    expect(approval).toMatchObject({
      kind: 'approval',
      state: 'submitted',
      from: { agentId: 'finance-agent', role: 'finance' },
      to: { role: 'manager', agentId: null },
    });
    expect(Date.parse(approval.escalateAt!)).toBeLessThan(Date.parse(approval.deadline));

    const decided = await expectEventually(async () => {
      const seen = await bus.request(GetTask, { id: approval.id }, { authorization: finance });
      expect(seen.state).toBe('completed');
      return seen;
    });
    expect(decided.decision).toMatchObject({
      decision: 'approve',
      comment: 'Legal: compliant',
      decidedBy: { agentId: 'manager-agent', role: 'manager' },
    });
    expect(decided.result).toEqual({ decision: 'approve', comment: 'Legal: compliant' });
    expect(decided.assignee).toEqual({ agentId: 'manager-agent', role: 'manager' });
    expect(decided.history?.map((h) => [h.event, h.from, h.to, h.actor])).toEqual([
      ['create', null, 'submitted', 'finance-agent'],
      ['start', 'submitted', 'working', 'manager-agent'],
      ['decide', 'working', 'completed', 'manager-agent'],
    ]);

    const review = await bus.request(GetTask, { id: consultation!.id }, { authorization: manager });
    expect(review).toMatchObject({
      kind: 'task',
      type: 'sox-review',
      contextId,
      from: { agentId: 'manager-agent', role: 'manager' },
      result: { sox: 'compliant', findings: [] },
    });
    expect(review.history?.map((h) => [h.event, h.actor])).toEqual([
      ['create', 'manager-agent'],
      ['start', 'legal-agent'],
      ['complete', 'legal-agent'],
    ]);

    await expectEventually(async () => {
      expect(await transitionsOf('finance-agent', contextId)).toEqual([
        'pending>active',
        'active>paused',
        'paused>active',
      ]);
      expect(await transitionsOf('manager-agent', contextId)).toEqual(['pending>active', 'active>completed']);
      expect(await transitionsOf('legal-agent', contextId)).toEqual(['pending>active', 'active>completed']);
    });
    const [financeSession] = (
      await bus.request(ListSessions, { agentId: 'finance-agent', contextId, limit: 1 }, opsAdmin)
    ).items;
    const financeTransitions = (
      await bus.request(ListSessionTransitions, { id: financeSession!.id }, opsAdmin)
    ).items;
    expect(financeTransitions.map((t) => [t.event, t.actor])).toEqual([
      ['activate', 'finance-agent'],
      ['pause', 'finance-agent'],
      ['resume', 'manager-agent'],
    ]);
    expect(financeTransitions[1]?.reason).toBe(`waiting on approval ${approval.id}`);

    const inContext = await bus.request(
      ListTasks,
      { contextId },
      { authorization: await bearer(issuer, 'ops-admin', 'admin', 'orgmesh:admin') },
    );
    expect(inContext.items.map((t) => t.id).sort()).toEqual([approval.id, consultation!.id].sort());
    const financeView = await bus.request(ListTasks, { contextId }, { authorization: finance });
    expect(financeView.items.map((t) => t.id)).toEqual([approval.id]);
    await Promise.all([legalAgent.stop(), managerAgent.stop()]);
  });

  it('refuses a send that breaks policy with 403 naming the rule, storing nothing', async () => {
    const contextId = `deny-${randomUUID()}`;
    const error = await rpcError(
      bus.request(SendTask, { to: 'finance', type: 'prepare-report', contextId }, { authorization: legal }),
    );
    expect(error.code).toBe('policy_denied');
    expect(error.details).toMatchObject({ rule: 'default-deny', from: 'legal', to: 'finance', kind: 'task' });
    expect(error.message).toContain('default-deny');
    // Naming an agent of another role does not get around the policy: the agent is checked as itself.
    const viaAgent = await rpcError(
      bus.request(
        RequestApproval,
        { to: { role: 'manager', agentId: 'legal-agent' }, subject: 'sneaky', contextId },
        { authorization: finance },
      ),
    );
    expect(viaAgent.code).toBe('policy_denied');
    expect(viaAgent.details).toMatchObject({ rule: 'default-deny', to: 'legal-agent' });
    // Allowed for the agent's real role, but the agent does not act for the role the sender named.
    const wrongRole = await rpcError(
      bus.request(
        SendTask,
        { to: { role: 'audit', agentId: 'legal-agent' }, type: 'x', contextId },
        { authorization: manager },
      ),
    );
    expect(wrongRole.code).toBe('validation_failed');
    expect(wrongRole.message).toContain('does not act for role audit');
    const listed = await bus.request(
      ListTasks,
      { contextId },
      { authorization: await bearer(issuer, 'ops-admin', 'admin', 'orgmesh:admin') },
    );
    expect(listed.items).toEqual([]);
  });

  it('takes the sender from the verified token: a Finance token cannot send as Manager', async () => {
    // Manager may assign Legal work; Finance may not. The payload's claimed sender is ignored.
    const raw = await bus.nc.request(
      bus.subject(SendTask.subject),
      JSON.stringify({
        to: 'legal',
        type: 'sox-review',
        from: { agentId: 'manager-agent', role: 'manager' },
        role: 'manager',
      }),
      { timeout: 5000, headers: authHeaders(finance) },
    );
    expect(raw.json<{ error: { code: string; details: { from: string } } }>().error).toMatchObject({
      code: 'policy_denied',
      details: { from: 'finance' },
    });

    const rawApproval = await bus.nc.request(
      bus.subject(RequestApproval.subject),
      JSON.stringify({
        to: 'manager',
        subject: 'spoof',
        from: { agentId: 'manager-agent', role: 'manager' },
      }),
      { timeout: 5000, headers: authHeaders(finance) },
    );
    expect(rawApproval.json<Task>().from).toEqual({ agentId: 'finance-agent', role: 'finance' });

    expect((await rpcError(bus.request(SendTask, { to: 'legal', type: 'x' }))).code).toBe('unauthenticated');
    const stranger = await LocalIssuer.create({ issuer: issuer.issuer, audience: issuer.audience });
    const forged = await bearer(stranger, 'manager-agent', 'manager');
    expect(
      (await rpcError(bus.request(SendTask, { to: 'legal', type: 'x' }, { authorization: forged }))).code,
    ).toBe('unauthenticated');
  });

  it('returns the first task for a repeated Idempotency-Key, refuses the key with another body', async () => {
    const contextId = `idem-${randomUUID()}`;
    const request = { to: 'manager', subject: 'Laptop refresh', details: { amount: 9000 }, contextId };
    const key = `approval-${randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        bus.request(RequestApproval, request, { authorization: finance, idempotencyKey: key }),
      ),
    );
    expect(new Set(results.map((t) => t.id)).size).toBe(1);
    const again = await bus.request(RequestApproval, request, {
      authorization: finance,
      idempotencyKey: key,
    });
    expect(again).toEqual(results[0]);
    const listed = await bus.request(ListTasks, { contextId }, { authorization: finance });
    expect(listed.items).toHaveLength(1);
    const reused = await rpcError(
      bus.request(
        RequestApproval,
        { ...request, subject: 'Something else' },
        { authorization: finance, idempotencyKey: key },
      ),
    );
    expect(reused.code).toBe('conflict');
    // Keys are per caller: another sender's identical key is its own.
    const other = await bus.request(RequestApproval, request, {
      authorization: await bearer(issuer, 'finance-2', 'finance'),
      idempotencyKey: key,
    });
    expect(other.id).not.toBe(results[0]!.id);
  });

  it('answers a repeated key of an update, a decision and a cancel with the first answer, and refuses it with another body', async () => {
    const approval = await bus.request(
      RequestApproval,
      { to: 'manager', subject: 'Keyed' },
      { authorization: finance },
    );
    const startKey = `start-${randomUUID()}`;
    const started = await bus.request(
      UpdateTask,
      { id: approval.id, state: 'working' },
      { authorization: manager, idempotencyKey: startKey },
    );
    expect(
      await bus.request(
        UpdateTask,
        { id: approval.id, state: 'working' },
        { authorization: manager, idempotencyKey: startKey },
      ),
    ).toEqual(started);
    const startReused = await rpcError(
      bus.request(
        UpdateTask,
        { id: approval.id, state: 'working', reason: 'other' },
        { authorization: manager, idempotencyKey: startKey },
      ),
    );
    expect(startReused.code).toBe('conflict');

    const decideKey = `decide-${randomUUID()}`;
    const decided = await bus.request(
      Decide,
      { id: approval.id, decision: 'approve' },
      { authorization: manager, idempotencyKey: decideKey },
    );
    expect(decided.state).toBe('completed');
    expect(
      await bus.request(
        Decide,
        { id: approval.id, decision: 'approve' },
        { authorization: manager, idempotencyKey: decideKey },
      ),
    ).toEqual(decided);
    const decideReused = await rpcError(
      bus.request(
        Decide,
        { id: approval.id, decision: 'reject' },
        { authorization: manager, idempotencyKey: decideKey },
      ),
    );
    expect(decideReused.code).toBe('conflict');

    const task = await bus.request(
      RequestApproval,
      { to: 'manager', subject: 'Keyed cancel' },
      { authorization: finance },
    );
    const cancelKey = `cancel-${randomUUID()}`;
    const canceled = await bus.request(
      CancelTask,
      { id: task.id },
      { authorization: finance, idempotencyKey: cancelKey },
    );
    expect(canceled.state).toBe('canceled');
    expect(
      await bus.request(CancelTask, { id: task.id }, { authorization: finance, idempotencyKey: cancelKey }),
    ).toEqual(canceled);
    const cancelReused = await rpcError(
      bus.request(
        CancelTask,
        { id: task.id, reason: 'other' },
        { authorization: finance, idempotencyKey: cancelKey },
      ),
    );
    expect(cancelReused.code).toBe('conflict');
  });

  it('lists tasks newest first with filters and a cursor', async () => {
    const contextId = `list-${randomUUID()}`;
    const sent: string[] = [];
    for (let i = 0; i < 5; i++)
      sent.push(
        (
          await bus.request(
            SendTask,
            { to: 'legal', type: `review-${i}`, contextId },
            { authorization: manager },
          )
        ).id,
      );
    const page1 = await bus.request(ListTasks, { contextId, limit: 2 }, { authorization: manager });
    const page2 = await bus.request(
      ListTasks,
      { contextId, limit: 2, cursor: page1.nextCursor ?? undefined },
      { authorization: manager },
    );
    const page3 = await bus.request(
      ListTasks,
      { contextId, limit: 2, cursor: page2.nextCursor ?? undefined },
      { authorization: manager },
    );
    expect([...page1.items, ...page2.items, ...page3.items].map((t) => t.id)).toEqual([...sent].reverse());
    expect(page3.nextCursor).toBeNull();
    // Legal's inbox view and Manager's outbox view of the same context.
    expect(
      (
        await bus.request(
          ListTasks,
          { contextId, role: 'legal', direction: 'inbound' },
          { authorization: legal },
        )
      ).items,
    ).toHaveLength(5);
    expect(
      (
        await bus.request(
          ListTasks,
          { contextId, role: 'legal', direction: 'outbound' },
          { authorization: legal },
        )
      ).items,
    ).toHaveLength(0);
    expect(
      (
        await bus.request(
          ListTasks,
          { contextId, agentId: 'manager-agent', direction: 'outbound', state: 'submitted' },
          { authorization: manager },
        )
      ).items,
    ).toHaveLength(5);
    expect(
      (await rpcError(bus.request(ListTasks, { contextId, cursor: 'nope' }, { authorization: manager })))
        .code,
    ).toBe('invalid_cursor');
    // The forged cursor of issue 17: parsed before the query, not "invalid input syntax for type uuid".
    const forged = Buffer.from(JSON.stringify({ c: '2026-01-01T00:00:00Z', i: 'x' })).toString('base64url');
    expect(
      (await rpcError(bus.request(ListTasks, { contextId, cursor: forged }, { authorization: manager })))
        .code,
    ).toBe('invalid_cursor');
  });

  it('answers 429 past the per-agent token bucket and 413 past the payload limit', async () => {
    const spammer = await bearer(issuer, 'finance-spammer', 'finance');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        bus.request(Notify, { to: 'manager', message: `ping ${i}` }, { authorization: spammer }),
      ),
    );
    const refused = outcomes
      .filter((o) => o.status === 'rejected')
      .map((o) => (o as PromiseRejectedResult).reason as { code: string; details: { retryAfterMs: number } });
    expect(outcomes.length - refused.length).toBeGreaterThanOrEqual(20);
    expect(outcomes.length - refused.length).toBeLessThanOrEqual(24);
    expect(refused.length).toBeGreaterThan(0);
    for (const error of refused) {
      expect(error.code).toBe('rate_limited');
      expect(error.details.retryAfterMs).toBeGreaterThan(0);
    }
    // Another agent is not affected.
    await bus.request(Notify, { to: 'manager', message: 'hello' }, { authorization: finance });

    const contextId = `big-${randomUUID()}`;
    const tooLarge = await rpcError(
      bus.request(
        RequestApproval,
        { to: 'manager', subject: 'big', details: { blob: 'x'.repeat(5000) }, contextId },
        { authorization: finance },
      ),
    );
    expect(tooLarge.code).toBe('payload_too_large');
    expect(tooLarge.details).toMatchObject({ field: 'details', limit: 4096 });
    expect((await bus.request(ListTasks, { contextId }, { authorization: finance })).items).toEqual([]);
    const fits = await bus.request(
      RequestApproval,
      { to: 'manager', subject: 'fits', details: { blob: 'x'.repeat(3000) }, contextId },
      { authorization: finance },
    );
    expect(fits.state).toBe('submitted');
  });

  it('refuses illegal updates with 409 and lets only the parties act', async () => {
    const approval = await bus.request(
      RequestApproval,
      { to: 'manager', subject: 'Offsite' },
      { authorization: finance },
    );
    const completeApproval = await rpcError(
      bus.request(UpdateTask, { id: approval.id, state: 'completed' }, { authorization: manager }),
    );
    expect(completeApproval.code).toBe('task_illegal_transition');
    expect(completeApproval.details).toMatchObject({ currentState: 'submitted', event: 'complete' });
    const needsInput = await rpcError(
      bus.request(UpdateTask, { id: approval.id, state: 'input-required' }, { authorization: manager }),
    );
    expect(needsInput.details).toMatchObject({
      allowedEvents: ['start', 'decide', 'fail', 'reject', 'cancel', 'expire'],
    });

    expect(
      (
        await rpcError(
          bus.request(Decide, { id: approval.id, decision: 'approve' }, { authorization: finance }),
        )
      ).code,
    ).toBe('forbidden');
    expect((await rpcError(bus.request(GetTask, { id: approval.id }, { authorization: legal }))).code).toBe(
      'forbidden',
    );
    expect(
      (await rpcError(bus.request(CancelTask, { id: approval.id }, { authorization: manager }))).code,
    ).toBe('forbidden');

    const working = await bus.request(
      UpdateTask,
      { id: approval.id, state: 'working' },
      { authorization: manager },
    );
    expect(working.assignee).toEqual({ agentId: 'manager-agent', role: 'manager' });
    // Another agent of the role cannot take over an assigned task.
    const other = await bearer(issuer, 'manager-2', 'manager');
    expect(
      (
        await rpcError(
          bus.request(UpdateTask, { id: approval.id, state: 'failed' }, { authorization: other }),
        )
      ).code,
    ).toBe('forbidden');

    const canceled = await bus.request(
      CancelTask,
      { id: approval.id, reason: 'offsite moved' },
      { authorization: finance },
    );
    expect(canceled).toMatchObject({ state: 'canceled', reason: 'offsite moved' });
    const afterEnd = await rpcError(
      bus.request(Decide, { id: approval.id, decision: 'approve' }, { authorization: manager }),
    );
    expect(afterEnd.code).toBe('task_illegal_transition');
    expect(afterEnd.details).toMatchObject({ currentState: 'canceled', allowedEvents: [] });
    const final = await bus.request(GetTask, { id: approval.id }, { authorization: finance });
    expect(final.history?.map((h) => h.event)).toEqual(['create', 'start', 'cancel']);
    expect(final.version).toBe(3);
    expect(
      (await rpcError(bus.request(GetTask, { id: randomUUID() }, { authorization: finance }))).code,
    ).toBe('task_not_found');
  });

  it('publishes task-created and task-updated through the outbox, once each, updates in version order', async () => {
    const contextId = `events-${randomUUID()}`;
    const created: string[] = [];
    const updated: string[] = [];
    // Each update is repeated on its sender's and its assignee's own subjects (the eager path here), and only there.
    const copies: Record<string, string[]> = { 'finance-agent': [], 'manager-agent': [], 'legal-agent': [] };
    const subs = Object.entries(copies).map(([agentId, list]) =>
      bus.nc.subscribe(bus.subject(agentUpdatesSubject(agentId)!), {
        callback: (error, msg) => {
          if (error) return;
          const p = msg.json<TaskChange>();
          if (p.task.contextId === contextId)
            list.push(`${p.change.event}:${p.task.version}:${p.task.state}`);
        },
      }),
    );
    await bus.nc.flush();
    const consumers = await Promise.all([
      bus.consume(
        TaskCreated,
        'test-created',
        async (p) =>
          void (p.task.contextId === contextId && created.push(`${p.change.event}:${p.task.version}`)),
      ),
      bus.consume(
        TaskUpdated,
        'test-updated',
        async (p) =>
          void (
            p.task.contextId === contextId &&
            updated.push(`${p.change.event}:${p.task.version}:${p.task.state}`)
          ),
      ),
    ]);
    const task = await bus.request(
      RequestApproval,
      { to: 'manager', subject: 'Events', contextId },
      { authorization: finance },
    );
    await bus.request(UpdateTask, { id: task.id, state: 'working' }, { authorization: manager });
    // A repeated report is a no-op: no event.
    await bus.request(UpdateTask, { id: task.id, state: 'working' }, { authorization: manager });
    await bus.request(
      Decide,
      { id: task.id, decision: 'reject', comment: 'not this quarter' },
      { authorization: manager },
    );
    await expectEventually(() => {
      expect(created).toEqual(['create:1']);
      expect(updated).toEqual(['start:2:working', 'decide:3:completed']);
      // Copies are core-NATS wake-ups, repeated when the relay republishes an event (SenderUpdates):
      // each change reaches its sender, in order, possibly more than once (CI once saw two of each).
      expect([...new Set(copies['finance-agent'])]).toEqual(['start:2:working', 'decide:3:completed']);
      // The assignee too (ADR 0021: a bridge hears a cancel of the task it works on at once).
      expect([...new Set(copies['manager-agent'])]).toEqual(['start:2:working', 'decide:3:completed']);
    });
    await bus.nc.flush();
    expect(copies['legal-agent']).toEqual([]);
    for (const sub of subs) sub.unsubscribe();
    const decided = await bus.request(GetTask, { id: task.id }, { authorization: finance });
    expect(decided).toMatchObject({
      state: 'completed',
      version: 3,
      decision: { decision: 'reject', comment: 'not this quarter' },
    });
    await Promise.all(consumers.map((c) => c.stop()));
  });

  it('serialises 60 concurrent reports on one task into one valid history ending in the stored state', async () => {
    const task = await bus.request(
      RequestApproval,
      { to: 'manager', subject: 'Race' },
      { authorization: finance },
    );
    const reports = ['working', 'input-required', 'working', 'input-required', 'rejected'] as const;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) =>
        bus.request(
          UpdateTask,
          { id: task.id, state: reports[i % reports.length]! },
          { authorization: manager },
        ),
      ),
    );
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected')
        expect((outcome.reason as { code: string }).code).toBe('task_illegal_transition');
    }
    const final = await bus.request(GetTask, { id: task.id }, { authorization: finance });
    const history = final.history ?? [];
    let state: Task['state'] = 'submitted';
    for (const entry of history.slice(1)) {
      expect(entry.from).toBe(state);
      state = entry.to;
    }
    expect(state).toBe(final.state);
    expect(final.version).toBe(history.length);
    expect(history.filter((h) => h.event === 'reject').length).toBeLessThanOrEqual(1);
  });

  it('stays correct with two replicas answering in turn (each with its own row cache)', async () => {
    const second = await startTestMeshRouter(ctx, issuer, { startJobs: false });
    try {
      const task = await bus.request(
        RequestApproval,
        { to: 'manager', subject: 'Two replicas' },
        { authorization: finance },
      );
      const reports: Array<'working' | 'input-required'> = [];
      for (let i = 0; i < 30; i++) reports.push(i % 2 === 0 ? 'working' : 'input-required');
      for (const state of reports) {
        const updated = await bus.request(UpdateTask, { id: task.id, state }, { authorization: manager });
        expect(updated.state).toBe(state);
      }
      const decided = await bus.request(
        Decide,
        { id: task.id, decision: 'approve' },
        { authorization: manager },
      );
      expect(decided.version).toBe(32);
      const final = await bus.request(GetTask, { id: task.id }, { authorization: finance });
      expect(final.history?.map((h) => h.to)).toEqual(['submitted', ...reports, 'completed']);
    } finally {
      await second.close();
    }
  });

  it('exposes health, readiness and its metrics', async () => {
    const base = `http://127.0.0.1:${mesh.health.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/orgmesh_mesh_requests_total\{[^}]*operation="send-task"[^}]*result="ok"/);
    expect(metrics).toMatch(/orgmesh_mesh_requests_total\{[^}]*result="policy_denied"/);
    expect(metrics).toContain('orgmesh_outbox_pending');
  });

  it('drops cached policy answers when the registry publishes a change', async () => {
    await bus.request(Notify, { to: 'manager', message: 'cached?' }, { authorization: finance });
    const asked = registry.policyRequests.filter(
      (r) => r.kind === 'notification' && r.from === 'finance',
    ).length;
    await bus.request(Notify, { to: 'manager', message: 'cached!' }, { authorization: finance });
    expect(
      registry.policyRequests.filter((r) => r.kind === 'notification' && r.from === 'finance'),
    ).toHaveLength(asked);

    // The registry revokes the permission and announces a new profile version.
    registry.rules.splice(
      registry.rules.findIndex((r) => r.from === 'finance' && r.kind === 'notification'),
      1,
    );
    registry.version++;
    await bus.ensureStream('registry');
    await bus.publish(
      ProfilePublished,
      {
        profileId: 'finance-default',
        role: 'finance',
        version: registry.version,
        jws: 'x.y.z',
        kid: 'k1',
        occurredAt: new Date().toISOString(),
      },
      { eventId: randomUUID() },
    );
    await expectEventually(async () => {
      const error = await rpcError(
        bus.request(Notify, { to: 'manager', message: 'now?' }, { authorization: finance }),
      );
      expect(error.code).toBe('policy_denied');
    });
  });

  it('writes its batched statements through its pool of generically planned connections (ADR 0025)', async () => {
    const contextId = `pool-${randomUUID()}`;
    await bus.request(SendTask, { to: 'legal', type: 'pool-check', contextId }, { authorization: manager });
    const db = await Database.connect({ url: ctx.databaseUrl, schema: 'mesh', poolSize: 1 });
    try {
      // Each backend shows the last statement it ran: the batches' are the task create, update and marks.
      const { rows } = await db.query<{ query: string }>(
        `SELECT query FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'orgmesh-mesh-router-batches'`,
      );
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.some((r) => /INSERT INTO mesh\.tasks|UPDATE mesh\.(tasks|outbox)/.test(r.query))).toBe(
        true,
      );
    } finally {
      await db.close();
    }
  });
});

function authHeaders(authorization: string) {
  const h = natsHeaders();
  h.set('authorization', authorization);
  return h;
}
