import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CancelTask,
  GetTask,
  MESH_INBOX_STREAM,
  SendTask,
  roleInboxDurable,
  roleInboxSubject,
  type Task,
} from '@orgmesh/contracts';
import { AckPolicy } from '@nats-io/jetstream';
import type { MessageBus } from '@orgmesh/messaging';
import { expectEventually, type TestAgent, type TestContext } from '@orgmesh/testing';
import type { MeshRouterApp } from '../src/mesh-router.app.js';
import { DUE_FOR_REDELIVERY, REDELIVERY_LOCK } from '../src/delivery/redelivery.js';
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

const AFTER_MS = 1_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Issue #21: a JetStream cluster that resets a stream's state loses inbox deliveries it had
 * acknowledged (the outbox marked them published). Emulated here by deleting the message from
 * the MESH_INBOX stream; the sweep (run by hand: startJobs false) must publish it again.
 */
describe('mesh inbox re-delivery sweep', () => {
  let ctx: TestContext;
  let issuer: LocalIssuer;
  let mesh: MeshRouterApp;
  let bus: MessageBus;
  let registry: RegistryResponder;
  let manager: string;
  const agents: TestAgent[] = [];

  beforeAll(async () => {
    ctx = await createTestContext();
    issuer = await LocalIssuer.create();
    bus = await clientBus(ctx);
    registry = new RegistryResponder(bus, DEMO_RULES, DEMO_CHART).start();
    mesh = await startTestMeshRouter(ctx, issuer, {
      startJobs: false,
      overrides: { MESH_REDELIVER_AFTER: `${AFTER_MS}ms`, MESH_REDELIVER_MAX_ATTEMPTS: '2' },
    });
    manager = await bearer(issuer, 'manager-agent', 'manager');
  });

  afterAll(async () => {
    await Promise.allSettled(agents.map((a) => a.stop()));
    registry?.stop();
    await bus?.close();
    await mesh?.close();
    await ctx?.dispose();
  });

  const stream = () => bus.streamName(MESH_INBOX_STREAM);
  const get = (id: string): Promise<Task> => bus.request(GetTask, { id }, { authorization: manager });
  const send = (): Promise<Task> =>
    bus.request(
      SendTask,
      { to: 'legal', type: 'contract-review', input: { n: 1 } },
      { authorization: manager },
    );
  /** Messages the inbox stream holds for the legal role. */
  const held = async (): Promise<number> => {
    const info = await bus.jsm.streams.info(stream(), {
      subjects_filter: bus.subject(roleInboxSubject('legal')),
    });
    return info.state.subjects?.[bus.subject(roleInboxSubject('legal'))] ?? 0;
  };
  /** orgmesh_mesh_redeliveries_total{result} as the metrics port serves it. */
  const metric = async (result: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${mesh.health.port}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`orgmesh_mesh_redeliveries_total{result="${result}"`));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  it('a copy of a delivery the stream still holds is dropped by its duplicate window; another replica holding the lock means no run', async () => {
    const task = await send();
    await expectEventually(async () => expect(await held()).toBe(1), { timeoutMs: 10_000 });
    await sleep(AFTER_MS + 100);

    // Another replica runs the job: this one does nothing.
    const skipped = await mesh.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [REDELIVERY_LOCK]);
      return mesh.redelivery.runOnce();
    });
    expect(skipped).toEqual({ ran: false, published: 0, duplicate: 0, failed: 0 });

    // The role's consumer exists and has not delivered it yet (no agent pulls): still held.
    const durable = bus.durableName(roleInboxDurable('legal'));
    await bus.jsm.consumers.add(stream(), {
      durable_name: durable,
      filter_subject: bus.subject(roleInboxSubject('legal')),
      ack_policy: AckPolicy.Explicit,
    });
    const run = await mesh.redelivery.runOnce();
    expect(run).toMatchObject({ ran: true, published: 0, duplicate: 1, failed: 0 });
    await bus.jsm.consumers.delete(stream(), durable);
    expect(await held()).toBe(1);
    // Tried again only `after` later.
    expect(await mesh.redelivery.runOnce()).toMatchObject({ ran: true, published: 0, duplicate: 0 });
    expect(await metric('duplicate')).toBe(1);

    // Clean up for the next test: no legal agent ever sees this task.
    await bus.jsm.streams.purge(stream(), { filter: bus.subject(roleInboxSubject('legal')) });
    expect((await get(task.id)).state).toBe('submitted');
    await bus.request(CancelTask, { id: task.id }, { authorization: manager });
  });

  it('a delivery lost from the stream is published again and the task completed exactly once', async () => {
    const task = await send();
    await expectEventually(async () => expect(await held()).toBe(1), { timeoutMs: 10_000 });
    // What the cluster's stream reset did in the chaos run: the acknowledged message is gone.
    const purged = await bus.jsm.streams.purge(stream(), { filter: bus.subject(roleInboxSubject('legal')) });
    expect(purged.purged).toBe(1);
    expect(await held()).toBe(0);
    await sleep(AFTER_MS + 100);

    const legal = await testAgent(ctx, issuer, 'legal-agent', 'legal', { kind: 'complete' });
    agents.push(legal);
    await sleep(500);
    expect(legal.received).toHaveLength(0);
    expect((await get(task.id)).state).toBe('submitted');

    // A purge keeps the stream's record of the message id (so does a reset, at times): the stream
    // answers `duplicate`, but the sequence it names holds no such message, so a copy goes out.
    expect(await mesh.redelivery.runOnce()).toMatchObject({
      ran: true,
      published: 1,
      duplicate: 0,
      failed: 0,
    });
    await expectEventually(async () => expect((await get(task.id)).state).toBe('completed'), {
      timeoutMs: 15_000,
    });
    expect(await metric('published')).toBe(1);

    // Completed: never published again, and handled once.
    await sleep(AFTER_MS + 100);
    expect(await mesh.redelivery.runOnce()).toMatchObject({ ran: true, published: 0, duplicate: 0 });
    await sleep(500);
    expect(legal.received.filter((t) => t.id === task.id)).toHaveLength(1);
    const history = (
      await bus.request(GetTask, { id: task.id, includeHistory: true }, { authorization: manager })
    ).history;
    expect(history?.map((h) => h.event)).toEqual(['create', 'start', 'complete']);
  });

  it('a task an agent took is never published again', async () => {
    const audit = await testAgent(ctx, issuer, 'audit-agent', 'audit', {
      kind: 'custom',
      // Takes the task and keeps working on it.
      handle: async (task, agent) => void (await agent.update(task.id, 'working')),
    });
    agents.push(audit);
    registry.rules.push({
      from: 'manager',
      to: 'audit',
      kind: 'task',
      rule: 'test: manager may send audit tasks',
    });
    const task = await bus.request(SendTask, { to: 'audit', type: 'check' }, { authorization: manager });
    await expectEventually(async () => expect((await get(task.id)).state).toBe('working'), {
      timeoutMs: 10_000,
    });
    await sleep(AFTER_MS + 100);
    const before = await metric('published');
    expect(await mesh.redelivery.runOnce()).toMatchObject({
      ran: true,
      published: 0,
      duplicate: 0,
      failed: 0,
    });
    await sleep(500);
    expect(audit.received.filter((t) => t.id === task.id)).toHaveLength(1);
    expect(await metric('published')).toBe(before);
  });

  it('finds the due tasks by the partial index of never-taken tasks, not by reading the table', async () => {
    // 20,000 tasks, nearly all taken or ended; 200 still submitted, half of them old.
    await mesh.db.query(
      `INSERT INTO mesh.tasks (id, kind, from_agent_id, from_role, to_role, priority, state, context_id, deadline,
                               version, created_at, updated_at)
       SELECT gen_random_uuid(), 'task', 'a', 'manager', 'nobody', 'normal',
              CASE WHEN i % 100 = 0 THEN 'submitted' WHEN i % 2 = 0 THEN 'completed' ELSE 'working' END,
              'ctx', now() + interval '1 hour', 2, now() - (i % 2) * interval '1 hour', now()
         FROM generate_series(1, 20000) i`,
    );
    await mesh.db.query('ANALYZE mesh.tasks');
    const { rows } = await mesh.db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${DUE_FOR_REDELIVERY}`, [
      new Date(Date.now() - 60_000),
      2,
      200,
    ]);
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/tasks_submitted_created_idx/);
    expect(plan).not.toMatch(/Seq Scan on tasks/);
  });
});
