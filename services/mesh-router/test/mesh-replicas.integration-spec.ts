import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { GetTask, SendTask, TaskUpdated, agentUpdatesSubject, type TaskChange } from '@orgmesh/contracts';
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

/**
 * Two router replicas behind one queue group: requests land on either at random. Each learns the
 * other's changes from the task events (ReplicaCacheSync), so an agent's update that lands on the
 * replica that did not make the previous change is still decided on the fast path, without reading
 * the row first; and neither replica hears its own events.
 */
describe('mesh router replicas', () => {
  let ctx: TestContext;
  let issuer: LocalIssuer;
  let replicas: MeshRouterApp[];
  let bus: MessageBus;
  let registry: RegistryResponder;
  let agent: TestAgent;

  beforeAll(async () => {
    ctx = await createTestContext();
    issuer = await LocalIssuer.create();
    bus = await clientBus(ctx);
    registry = new RegistryResponder(bus, [...DEMO_RULES], DEMO_CHART).start();
    // An even split (packing off, ADR 0024): what every replica does once the packing one spreads.
    const evenSplit = { startJobs: false, overrides: { MESH_RPC_PACKING: 'false' } };
    replicas = [
      await startTestMeshRouter(ctx, issuer, evenSplit),
      await startTestMeshRouter(ctx, issuer, evenSplit),
    ];
    agent = await testAgent(ctx, issuer, 'ops-agent', 'ops', { kind: 'complete', result: { done: true } });
  });

  afterAll(async () => {
    await agent?.stop();
    registry?.stop();
    await bus?.close();
    await Promise.allSettled((replicas ?? []).map((r) => r.close()));
    await ctx?.dispose();
  });

  it('decides every update on the fast path whichever replica it lands on, and the histories are complete', async () => {
    const finance = await bearer(issuer, 'finance-agent', 'finance');
    const completed = new Set<string>();
    const sub = bus.nc.subscribe(bus.subject(TaskUpdated.subject), {
      callback: (_error, msg) => {
        const change = msg.json<TaskChange>();
        if (change.task.state === 'completed') completed.add(change.task.id);
      },
    });
    // The sender's own copies: whichever replica made a change repeats it (a relay republish may repeat one twice).
    const copies = new Map<string, Set<number>>();
    const own = bus.nc.subscribe(bus.subject(agentUpdatesSubject('finance-agent')!), {
      callback: (_error, msg) => {
        const change = msg.json<TaskChange>();
        copies.set(change.task.id, (copies.get(change.task.id) ?? new Set()).add(change.task.version));
      },
    });
    await bus.nc.flush();
    const before = replicas.map((r) => ({ ...r.repository.cacheStats }));
    const learnedBefore = replicas[0]!.replicaSync.learned + replicas[1]!.replicaSync.learned;
    const contextId = `replicas-${randomUUID()}`;
    const sent: string[] = [];
    // One at a time, so every update follows a change the other replica may have made.
    for (let n = 0; n < 12; n++) {
      const task = await bus.request(
        SendTask,
        { to: 'ops', type: 'replica-test', input: { n }, contextId },
        { authorization: finance },
      );
      sent.push(task.id);
      await expectEventually(() => expect(completed.has(task.id)).toBe(true), { timeoutMs: 5_000 });
    }
    sub.unsubscribe();
    await expectEventually(() =>
      expect(sent.map((id) => [...(copies.get(id) ?? [])].sort())).toEqual(sent.map(() => [2, 3])),
    );
    own.unsubscribe();

    const after = replicas.map((r) => r.repository.cacheStats);
    const hits = after.map((stats, i) => stats.hits - before[i]!.hits);
    const misses = after.map((stats, i) => stats.misses - before[i]!.misses);
    // 12 lifecycles × (working, completed): with random routing both replicas took updates…
    expect(hits[0]! + hits[1]! + misses[0]! + misses[1]!).toBe(24);
    expect(hits[0]! + misses[0]!).toBeGreaterThan(0);
    expect(hits[1]! + misses[1]!).toBeGreaterThan(0);
    // …and none had to read the row: without the sync about half of them would.
    expect(misses).toEqual([0, 0]);
    // Each replica learned only the other's changes (no echo of its own): 3 events per lifecycle.
    await expectEventually(() =>
      expect(replicas[0]!.replicaSync.learned + replicas[1]!.replicaSync.learned).toBe(
        learnedBefore + 12 * 3,
      ),
    );

    for (const id of sent) {
      const task = await bus.request(GetTask, { id, includeHistory: true }, { authorization: finance });
      expect(task.state).toBe('completed');
      expect(task.version).toBe(3);
      expect(task.history?.map((h) => `${h.from ?? '-'}>${h.to}`)).toEqual([
        '->submitted',
        'submitted>working',
        'working>completed',
      ]);
    }
  });
});
