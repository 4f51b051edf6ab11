import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { TaskState, verifyAgentCardSignature, type AgentCard, type StreamResponse } from '@a2a-js/sdk';
import type { Task } from '@orgmesh/contracts';
import {
  createTestContext,
  expectEventually,
  type OidcTestProvider,
  type TestContext,
} from '@orgmesh/testing';
import { testConfig as meshTestConfig, startMeshRouterApp } from '@orgmesh/mesh-router/testing';
import { startTestRegistry } from '@orgmesh/registry/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import {
  api,
  silentLogger,
  startTestGateway,
  type TestMeshRouter,
  type TestRegistry,
} from './gateway-harness.js';
import {
  a2aClient,
  keyFromJku,
  sendRequest,
  startPushReceiver,
  startReplicaIssuer,
  userMessage,
  versionOf,
} from './a2a-harness.js';

/** The task version a pushed status update carries. */
function pushedVersion(body: unknown): number | undefined {
  return (body as { statusUpdate?: { metadata?: { orgmesh?: { version?: number } } } }).statusUpdate?.metadata
    ?.orgmesh?.version;
}

// Two gateway replicas behind one (imaginary) load balancer: both trust the same external issuer (oidc
// mode, as in production: dev-mode keys are per process) and sign cards with the same key.

describe('A2A across gateway replicas: any replica serves any task, a stream survives the replica that opened it', () => {
  let ctx: TestContext;
  let provider: OidcTestProvider;
  let first: GatewayApp;
  let second: GatewayApp;
  let registry: TestRegistry;
  let mesh: TestMeshRouter;
  const tokens: Record<string, string> = {};
  const receivers: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    ctx = await createTestContext();
    const issuer = await startReplicaIssuer();
    provider = issuer.provider;
    const trust = issuer.trust;
    const key = JSON.stringify(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
    );
    const replica = {
      AUTH_MODE: 'oidc',
      ...trust,
      GATEWAY_A2A_SIGNING_KEY: key,
      GATEWAY_SSE_HEARTBEAT: '200ms',
      // The push receiver listens on loopback.
      GATEWAY_A2A_PUSH_ALLOW: '127.0.0.1',
    };
    first = await startTestGateway(ctx, replica);
    second = await startTestGateway(ctx, replica);
    registry = await startTestRegistry(ctx, {
      overrides: { REGISTRY_AUTH: 'on', ...trust, GATEWAY_URL: second.url },
    });
    mesh = await startMeshRouterApp(meshTestConfig(ctx, trust), {
      logger: silentLogger,
      migrate: true,
      startJobs: false,
    });
    Object.assign(tokens, await issuer.tokens());
  });

  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await first?.close();
    await second?.close();
    await mesh?.close();
    await registry?.close();
    await provider?.close();
    await ctx?.dispose();
  });

  const update = async (id: string, body: Record<string, unknown>) => {
    const res = await api<Task>(second, 'POST', `/v1/tasks/${id}/updates`, {
      token: tokens['legal-agent'],
      body,
    });
    expect(res.status).toBe(200);
  };

  it('a card fetched from one replica verifies against the keys the other publishes', async () => {
    const res = await fetch(`${first.url}/a2a/legal-agent/.well-known/agent-card.json`, {
      headers: { authorization: `Bearer ${tokens['manager-agent']}` },
    });
    expect(res.status).toBe(200);
    const card = (await res.json()) as Record<string, unknown>;
    const viaSecond = (kid: string) => keyFromJku(kid, `${second.url}/a2a/jwks.json`);
    await expect(verifyAgentCardSignature(viaSecond)(card as unknown as AgentCard)).resolves.toBeUndefined();
  });

  it('resubscribes through the second replica after the first stopped mid-stream, missing no change', async () => {
    const manager = tokens['manager-agent'] as string;
    const onFirst = await a2aClient(first, manager, '/a2a/legal-agent');
    const seenFirst: StreamResponse[] = [];
    const firstStream = (async () => {
      try {
        for await (const event of onFirst.sendMessageStream(sendRequest(userMessage('Review the merger')))) {
          seenFirst.push(event);
        }
      } catch {
        // The replica went away: the stream breaks off.
      }
    })();
    await expectEventually(() => expect(seenFirst).toHaveLength(1));
    const head = seenFirst[0]?.payload;
    if (head?.$case !== 'task') throw new Error('expected the task first');
    const id = head.value.id;
    // A push config made through the first replica: deliveries go on after it is gone.
    const hook = await startPushReceiver();
    receivers.push(hook);
    await onFirst.createTaskPushNotificationConfig({
      tenant: '',
      id: 'replicas',
      taskId: id,
      url: hook.url,
      token: '',
      authentication: { scheme: 'Bearer', credentials: 'hook-secret' },
    });
    await update(id, { state: 'working' });
    await expectEventually(() => expect(seenFirst).toHaveLength(2));

    // The first replica stops mid-stream; the task moves on meanwhile.
    await first.close();
    await firstStream;
    await update(id, { state: 'input-required', reason: 'need the board minutes' });

    // Any replica answers for the task: get, then resubscribe through the second one.
    const onSecond = await a2aClient(second, manager, '/a2a/legal-agent');
    const got = await onSecond.getTask({ tenant: '', id });
    expect(got.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const seenSecond: StreamResponse[] = [];
    const secondStream = (async () => {
      for await (const event of onSecond.resubscribeTask({ tenant: '', id })) seenSecond.push(event);
    })();
    await expectEventually(() => expect(seenSecond).toHaveLength(1));
    await update(id, { state: 'working' });
    await update(id, { state: 'completed', result: { opinion: 'no objection' } });
    await secondStream;

    // Every version of the task reached the client: 1-2 on the first stream, 3 in the snapshot, 4-5 after.
    const versions = [...seenFirst, ...seenSecond].map(versionOf).filter((v) => v !== undefined);
    expect(versions).toEqual([1, 2, 3, 4, 5]);
    const last = seenSecond[seenSecond.length - 1]?.payload;
    expect(last?.$case === 'statusUpdate' && last.value.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(seenSecond.some((e) => e.payload?.$case === 'artifactUpdate')).toBe(true);

    // Every change reached the push receiver too (at least once), those after the first replica
    // stopped delivered by the second.
    await expectEventually(() => {
      const pushed = new Set(hook.received.map((r) => pushedVersion(r.body)));
      expect([2, 3, 4, 5].filter((v) => !pushed.has(v))).toEqual([]);
    });
    expect(hook.received.every((r) => r.headers['authorization'] === 'Bearer hook-secret')).toBe(true);
  });
});
