import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type { Task } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import {
  createTestContext,
  expectEventually,
  startSecuredNats,
  type SecuredNats,
  type TestContext,
} from '@orgmesh/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { PushConfigStore, PushDispatcher, pushMetrics } from '../src/a2a/push.js';
import { PushAllowList } from '../src/a2a/push-url.js';
import { testConfig as meshTestConfig, startMeshRouterApp } from '@orgmesh/mesh-router/testing';
import { startTestRegistry } from '@orgmesh/registry/testing';
import { api, devToken, silentLogger, startTestGateway } from './gateway-harness.js';
import { startPushReceiver } from './a2a-harness.js';

/**
 * How long the dispatcher under test waits between attempts to start its durable while MESH is
 * missing: wide (production: 500 ms), so the task below certainly finishes before the durable exists.
 */
const WAIT_RETRY_MS = 15_000;

/** The task version a pushed status update carries. */
function pushedVersion(body: unknown): number | undefined {
  return (body as { statusUpdate?: { metadata?: { orgmesh?: { version?: number } } } }).statusUpdate?.metadata
    ?.orgmesh?.version;
}

// A secured bus (ADR 0011): the gateway may not create MESH, the mesh router does. A gateway that
// starts first waits for the stream; its push durable is created only at its next attempt. A task
// that finished between the stream's creation and that attempt was pushed to no one while the
// durable started at "new" messages (issue 25); it starts where the wait began now.
describe('A2A push: a gateway started before the mesh router misses no change made before its durable exists', () => {
  let ctx: TestContext;
  let nats: SecuredNats;
  let gateway: GatewayApp;
  let bus: MessageBus;
  let dispatcher: PushDispatcher;
  const logs: Array<{ msg?: string }> = [];
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    const base = await createTestContext();
    nats = await startSecuredNats({
      subjectPrefix: base.subjectPrefix,
      nameSuffix: base.nameSuffix,
      agents: [],
    });
    ctx = { ...base, natsUrl: nats.url };
    const seed = (identity: string) => ({ NATS_NKEY_SEED_FILE: nats.seedFile(identity) });
    // The gateway serves tokens and REST; its own push delivery is off, so the only durable is the
    // dispatcher's below (the durable is shared by name: another one would start it first).
    gateway = await startTestGateway(ctx, { ...seed('gateway'), GATEWAY_A2A_PUSH: 'false' });
    closers.push(() => gateway.close());
    const registry = await startTestRegistry(ctx, {
      overrides: {
        REGISTRY_AUTH: 'on',
        AUTH_ISSUER: gateway.url,
        GATEWAY_URL: gateway.url,
        ...seed('registry'),
      },
    });
    closers.push(() => registry.close());
  }, 120_000);

  afterAll(async () => {
    await dispatcher?.stop();
    await bus?.close();
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await nats?.dispose();
    await ctx?.dispose();
  });

  it(
    'delivers the changes of a task that finished before the push durable started',
    async () => {
      // The gateway's push delivery on the gateway's own credential, before MESH exists.
      // The bus logs the wait for MESH and the durable's start (libs/messaging owner-wait.ts).
      const logger = createLogger({
        service: 'gateway-push-window',
        level: 'info',
        destination: { write: (line: string) => void logs.push(JSON.parse(line) as { msg?: string }) },
      });
      bus = await connectBus({
        ...nats.busOptions('gateway'),
        logger,
      });
      const store = new PushConfigStore(bus);
      dispatcher = new PushDispatcher(
        bus,
        store,
        new PushAllowList('127.0.0.1'),
        logger,
        pushMetrics(new Registry()),
        [0, 200],
        WAIT_RETRY_MS,
      );
      await dispatcher.start();
      const logged = (msg: string) => logs.some((l) => l.msg === msg);
      expect(logged('consumer waits for its stream')).toBe(true);

      // The mesh router starts and creates MESH; a task runs to its end at once.
      const mesh = await startMeshRouterApp(
        meshTestConfig(ctx, { AUTH_ISSUER: gateway.url, ...meshSeed(nats) }),
        { logger: silentLogger, migrate: true, startJobs: false },
      );
      closers.push(() => mesh.close());
      const hook = await startPushReceiver();
      closers.push(() => hook.close());
      const manager = await devToken(gateway, 'manager-agent');
      const legal = await devToken(gateway, 'legal-agent');
      const sent = await api<Task>(gateway, 'POST', '/v1/tasks', {
        token: manager,
        body: { to: 'legal-agent', type: 'review', input: { text: 'inside the window' } },
      });
      expect(sent.status).toBe(202);
      const id = sent.body.id;
      await store.put({
        config: {
          tenant: '',
          id: 'window',
          taskId: id,
          url: hook.url,
          token: 'window',
          authentication: undefined,
        },
        owner: randomUUID(),
        failing: null,
        createdAt: new Date().toISOString(),
      });
      for (const body of [{ state: 'working' }, { state: 'completed', result: { verdict: 'ok' } }]) {
        const res = await api<Task>(gateway, 'POST', `/v1/tasks/${id}/updates`, { token: legal, body });
        expect(res.status).toBe(200);
      }
      // The task ended inside the window: the durable does not exist yet (else this test proves nothing).
      expect(logged('consumer started once its stream existed')).toBe(false);
      expect(hook.received).toEqual([]);

      // Once the durable starts, it starts where the wait began: both changes reach the receiver.
      await expectEventually(
        () => {
          expect(logged('consumer started once its stream existed')).toBe(true);
          const versions = hook.received.map((r) => pushedVersion(r.body));
          expect(versions).toEqual(expect.arrayContaining([2, 3]));
        },
        { timeoutMs: WAIT_RETRY_MS * 2 + 10_000 },
      );
      expect(JSON.stringify(hook.received.at(-1)?.body)).toContain('TASK_STATE_COMPLETED');
      expect(hook.received.every((r) => r.headers['x-a2a-notification-token'] === 'window')).toBe(true);
    },
    WAIT_RETRY_MS * 3 + 30_000,
  );
});

function meshSeed(nats: SecuredNats): Record<string, string> {
  return { NATS_NKEY_SEED_FILE: nats.seedFile('mesh-router') };
}
