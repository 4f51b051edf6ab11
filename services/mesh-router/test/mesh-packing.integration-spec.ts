import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SendTask } from '@orgmesh/contracts';
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

const PACKING = {
  startJobs: false,
  overrides: {
    MESH_RPC_PACKING_INTERVAL: '100ms',
    MESH_RPC_PACKING_WEIGHT: '256',
    MESH_RATE_LIMIT_PER_SECOND: '10000',
    MESH_RATE_LIMIT_BURST: '10000',
  },
};

/**
 * Pack, then spread (ADR 0024) with two real router replicas on one database and one NATS: the
 * lock holder takes nearly every request; when it stops, the other answers at once and packs.
 */
describe('mesh router packing', () => {
  let ctx: TestContext;
  let issuer: LocalIssuer;
  let first: MeshRouterApp;
  let second: MeshRouterApp;
  let bus: MessageBus;
  let registry: RegistryResponder;
  let agent: TestAgent;

  beforeAll(async () => {
    ctx = await createTestContext();
    issuer = await LocalIssuer.create();
    bus = await clientBus(ctx);
    registry = new RegistryResponder(bus, [...DEMO_RULES], DEMO_CHART).start();
    first = await startTestMeshRouter(ctx, issuer, PACKING);
    await expectEventually(() => expect(first.packing?.state.packing).toBe(true));
    second = await startTestMeshRouter(ctx, issuer, PACKING);
    agent = await testAgent(ctx, issuer, 'ops-agent', 'ops', { kind: 'complete', result: { done: true } });
  });

  afterAll(async () => {
    await agent?.stop();
    registry?.stop();
    await bus?.close();
    await Promise.allSettled([first?.close(), second?.close()]);
    await ctx?.dispose();
  });

  const send = async (n: number) => {
    const finance = await bearer(issuer, 'finance-agent', 'finance');
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        bus.request(SendTask, { to: 'ops', type: 'packing-test', input: { i } }, { authorization: finance }),
      ),
    );
  };

  it('packs the requests on the lock holder; the other replica keeps one member and stops learning', async () => {
    await expectEventually(() => {
      expect(first.packing?.state).toMatchObject({ packing: true, weight: 256 });
      expect(second.packing?.state).toMatchObject({ packing: false, weight: 1, learning: false });
    });
    expect(second.replicaSync.listening).toBe(false);
    const before = [first.bus.requestsTaken, second.bus.requestsTaken];
    await send(120);
    const taken = [first.bus.requestsTaken - before[0]!, second.bus.requestsTaken - before[1]!];
    // Expected 256/257 of them on the first (each send may add the agent's reports).
    expect(taken[0]! / (taken[0]! + taken[1]!)).toBeGreaterThan(0.9);
  });

  it('hands the packing to the other replica when the holder stops, answering every request meanwhile', async () => {
    const stopping = first.close();
    await send(30);
    await stopping;
    await expectEventually(() =>
      expect(second.packing?.state).toMatchObject({ packing: true, weight: 256, learning: true }),
    );
    expect(second.replicaSync.listening).toBe(true);
    await send(30);
  });
});
