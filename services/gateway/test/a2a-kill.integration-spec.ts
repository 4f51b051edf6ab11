import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TaskState, type StreamResponse } from '@a2a-js/sdk';
import type { Task } from '@orgmesh/contracts';
import {
  createTestContext,
  expectEventually,
  freePort,
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
import { a2aClient, sendRequest, startReplicaIssuer, userMessage, versionOf } from './a2a-harness.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GATEWAY_MAIN = join(REPO_ROOT, 'services/gateway/dist/main.js');
/** What the gateway's process runs: its dist/ and that of the libs it imports (swc, well under a second each). */
const BUILD = [
  'libs/contracts',
  'libs/config',
  'libs/telemetry',
  'libs/persistence',
  'libs/messaging',
  'libs/auth',
  'libs/service-host',
  'migrations',
  'services/gateway',
];

/** Starts the built gateway as a process of its own and resolves once it serves A2A. */
async function startGatewayProcess(
  env: Record<string, string>,
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--enable-source-maps', GATEWAY_MAIN], {
    env: { PATH: process.env['PATH'] ?? '', ...env, GATEWAY_HTTP_PORT: String(port), GATEWAY_GRPC_PORT: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`gateway exited (${code ?? signal}): ${stderr}`))),
  );
  exited.catch(() => undefined);
  const ready = (async () => {
    // /healthz answers while starting; a public A2A route only once the routes are mounted.
    for (;;) {
      const res = await fetch(`${url}/a2a/jwks.json`).catch(() => undefined);
      if (res?.ok) return { url, child };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return Promise.race([ready, exited]);
}

// One replica runs as a real process and is killed with SIGKILL while a client streams through it:
// no graceful close, no drained connections, the TCP stream just ends. The client resubscribes through
// the other replica (in process) and misses no change of the task.
describe('A2A: a replica killed (SIGKILL) mid-stream, the stream resumed through another replica', () => {
  let ctx: TestContext;
  let provider: OidcTestProvider;
  let killed: ChildProcess | undefined;
  let first: { url: string };
  let second: GatewayApp;
  let registry: TestRegistry;
  let mesh: TestMeshRouter;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs', ...BUILD], { cwd: REPO_ROOT, stdio: 'ignore' });
    if (!existsSync(GATEWAY_MAIN)) throw new Error(`${GATEWAY_MAIN} is missing after the build`);
    ctx = await createTestContext();
    const issuer = await startReplicaIssuer();
    provider = issuer.provider;
    // Both replicas trust the same external issuer (dev-mode keys are per process) and share a card key.
    const trust = issuer.trust;
    const replica = {
      AUTH_MODE: 'oidc',
      ...trust,
      GATEWAY_A2A_SIGNING_KEY: JSON.stringify(
        generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
      ),
      GATEWAY_SSE_HEARTBEAT: '200ms',
    };
    const started = await startGatewayProcess({
      ...replica,
      NATS_URL: ctx.natsUrl,
      NATS_SUBJECT_PREFIX: ctx.subjectPrefix,
      NATS_NAME_SUFFIX: ctx.nameSuffix,
      GATEWAY_RPC_TIMEOUT: '3s',
      GATEWAY_RATE_LIMIT_RPS: '10000',
      GATEWAY_RATE_LIMIT_BURST: '10000',
      LOG_LEVEL: 'warn',
    });
    killed = started.child;
    first = { url: started.url };
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
  }, 120_000);

  afterAll(async () => {
    if (killed && killed.exitCode === null && killed.signalCode === null) killed.kill('SIGKILL');
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

  it('resubscribes through the second replica after the first was SIGKILLed mid-stream, missing no change', async () => {
    const manager = tokens['manager-agent'] as string;
    // The official SDK client, built from the card the process serves.
    const onFirst = await a2aClient(first as GatewayApp, manager, '/a2a/legal-agent');
    const seenFirst: StreamResponse[] = [];
    const firstStream = (async () => {
      try {
        for await (const event of onFirst.sendMessageStream(sendRequest(userMessage('Review the merger')))) {
          seenFirst.push(event);
        }
      } catch {
        // The process died: the connection reset under the stream.
      }
    })();
    await expectEventually(() => expect(seenFirst).toHaveLength(1));
    const head = seenFirst[0]?.payload;
    if (head?.$case !== 'task') throw new Error('expected the task first');
    const id = head.value.id;
    await update(id, { state: 'working' });
    await expectEventually(() => expect(seenFirst).toHaveLength(2));

    // SIGKILL: the process ends at once, its open stream with it.
    const exit = new Promise<NodeJS.Signals | null>((resolve) =>
      killed?.once('exit', (_c, signal) => resolve(signal)),
    );
    killed?.kill('SIGKILL');
    expect(await exit).toBe('SIGKILL');
    await firstStream;
    // The stream broke off: no event after the kill, none of them terminal.
    expect(seenFirst).toHaveLength(2);
    // The task moves on while the client has no stream.
    await update(id, { state: 'input-required', reason: 'need the board minutes' });

    const onSecond = await a2aClient(second, manager, '/a2a/legal-agent');
    const seenSecond: StreamResponse[] = [];
    const secondStream = (async () => {
      for await (const event of onSecond.resubscribeTask({ tenant: '', id })) seenSecond.push(event);
    })();
    await expectEventually(() => expect(seenSecond).toHaveLength(1));
    await update(id, { state: 'working' });
    await update(id, { state: 'completed', result: { opinion: 'no objection' } });
    await secondStream;

    // Every version reached the client: 1-2 through the killed process, 3 in the snapshot, 4-5 after.
    const versions = [...seenFirst, ...seenSecond].map(versionOf).filter((v) => v !== undefined);
    expect(versions).toEqual([1, 2, 3, 4, 5]);
    const last = seenSecond[seenSecond.length - 1]?.payload;
    expect(last?.$case === 'statusUpdate' && last.value.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
  }, 60_000);
});
