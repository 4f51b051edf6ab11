import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SendTask } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { tokenAttacks, type TokenAttackKit, type TestContext } from '@orgmesh/testing';
import { startMeshRouterApp, type MeshRouterApp } from '../src/mesh-router.app.js';
import {
  DEMO_CHART,
  DEMO_RULES,
  LocalIssuer,
  RegistryResponder,
  bearer,
  clientBus,
  createTestContext,
  rpcError,
  testConfig,
} from './mesh-harness.js';

// Issue 18: every token attack of the gateway suite, on a raw NATS request straight to the mesh
// router (no gateway in front): refused as unauthenticated, nothing written, each one counted.
describe('mesh router: forged and broken tokens on the raw bus', () => {
  let ctx: TestContext;
  let issuer: LocalIssuer;
  let kit: TokenAttackKit;
  let mesh: MeshRouterApp;
  let bus: MessageBus;
  const logLines: string[] = [];

  beforeAll(async () => {
    ctx = await createTestContext();
    issuer = await LocalIssuer.create();
    kit = await tokenAttacks(issuer, { sub: 'manager-agent', role: 'manager', scope: 'orgmesh:agent' });
    bus = await clientBus(ctx);
    new RegistryResponder(bus, [...DEMO_RULES], DEMO_CHART).start();
    mesh = await startMeshRouterApp(testConfig(ctx), {
      // Debug level: whatever the refusal path logs is captured and searched for the tokens.
      logger: createLogger({
        service: 'mesh-router',
        level: 'debug',
        destination: { write: (line) => void logLines.push(line) },
      }),
      migrate: true,
      startJobs: false,
      verifier: kit.verifier,
    });
  });

  afterAll(async () => {
    await bus?.close();
    await mesh?.close();
    await ctx?.dispose();
  });

  async function refusedCount(): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${mesh.health.port}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('orgmesh_callers_refused_total{') && l.includes('code="unauthenticated"'));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  async function taskCount(): Promise<number> {
    const { rows } = await mesh.db.query<{ n: number }>('SELECT count(*)::int AS n FROM mesh.tasks');
    return rows[0]!.n;
  }

  it('refuses send-task with each attack as unauthenticated, writes no task and counts each refusal once', async () => {
    const before = await refusedCount();
    for (const attack of kit.attacks) {
      const request = bus.request(
        SendTask,
        { to: 'legal', type: 'sox-review' },
        attack.authorization === undefined ? {} : { authorization: attack.authorization },
      );
      const error = await rpcError(request);
      expect({ attack: attack.name, code: error.code, reason: error.message }).toEqual({
        attack: attack.name,
        code: 'unauthenticated',
        reason: expect.stringMatching(attack.reason),
      });
    }
    expect(await taskCount()).toBe(0);
    expect(await refusedCount()).toBe(before + kit.attacks.length);

    // The control: the same request with the issuer's own token is accepted and not counted.
    const sent = await bus.request(
      SendTask,
      { to: 'legal', type: 'sox-review' },
      { authorization: await bearer(issuer, 'manager-agent', 'manager') },
    );
    expect(sent.from).toEqual({ agentId: 'manager-agent', role: 'manager' });
    expect(await taskCount()).toBe(1);
    expect(await refusedCount()).toBe(before + kit.attacks.length);

    const log = logLines.join('');
    expect(logLines.length).toBeGreaterThan(0);
    for (const secret of [...kit.secrets, 'not-a-jwt']) expect(log.includes(secret)).toBe(false);
  });
});
