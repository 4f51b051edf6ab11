import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { GetAgent } from '@orgmesh/contracts';
import { connectBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
// The gateway and the mesh router run in this process (their in-process entry points); the registry
// as its own process (its dist/main.js). Benchmarks may import services' entry points.
import { loadGatewayConfig, startGatewayApp } from '@orgmesh/gateway/testing';
import { loadMeshRouterConfig, startMeshRouterApp } from '@orgmesh/mesh-router/testing';
import {
  benchEnv,
  benchNamespace,
  LatencyHistogram,
  progress,
  round,
  runComparison,
  type BenchResult,
} from './harness.js';

/**
 * A2A benchmark (issue 25): an A2A `SendMessage` (JSON-RPC, `returnImmediately`) to
 * `/a2a/legal-agent` until the mesh task is created and answered, against `POST /v1/tasks` to the
 * same agent through the same gateway, interleaved in the same run (c=1). Both end in the same
 * mesh `SendTask` RPC (policy from the registry, one Postgres commit); the difference is the A2A
 * edge: JSON-RPC parsing by the SDK, the agent check (cached), the message → task mapping, the
 * idempotency key, the task → A2A mapping. Target: added p50 ≤ 5 ms. Raw keep-alive HTTP on both
 * sides, so no client library's cost is in either figure.
 * Then, for a task the agent keeps updating (alternately input-required and working), the delay
 * from the mesh event (its arrival at a core NATS subscription in this process) to the same change
 * arriving (a) on an A2A SubscribeToTask stream (SSE, read over fetch) and (b) at a push-notification
 * receiver on loopback. Targets: streaming ≤ 5 ms, push p50 ≤ 20 ms.
 */

const REGISTRY_MAIN = fileURLToPath(new URL('../../services/registry/dist/main.js', import.meta.url));
const REGISTRY_DIR = fileURLToPath(new URL('../../deploy/registry', import.meta.url));
const DURATION_MS = 4_000;
const FOLLOW_UPDATES = 200;

function post(
  agent: Agent,
  base: URL,
  path: string,
  token: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: 'POST',
        path,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export async function run(): Promise<BenchResult[]> {
  if (!existsSync(REGISTRY_MAIN)) throw new Error('services/registry/dist not built: run npm run bench');
  const env = benchEnv();
  const ns = await benchNamespace('ba');
  const logger = createLogger({ service: 'bench-a2a', level: 'warn' });
  const common = {
    NATS_URL: env.natsUrl,
    NATS_SUBJECT_PREFIX: ns.subjectPrefix,
    NATS_NAME_SUFFIX: ns.nameSuffix,
    LOG_LEVEL: 'warn',
  };
  const cleanups: Array<() => Promise<unknown>> = [() => ns.dispose()];
  try {
    progress('  gateway and mesh router in process, registry as its own process');
    const gateway = await startGatewayApp(
      loadGatewayConfig({
        ...common,
        GATEWAY_HTTP_PORT: '0',
        GATEWAY_GRPC_PORT: '0',
        GATEWAY_RATE_LIMIT_RPS: '1000000',
        GATEWAY_RATE_LIMIT_BURST: '1000000',
        AUTH_SECRET_HASH_COST: '1024',
        // The push receiver of the follow scenario listens on loopback.
        GATEWAY_A2A_PUSH_ALLOW: '127.0.0.1',
      }),
      { logger },
    );
    cleanups.push(() => gateway.close());
    const registry = spawn(process.execPath, [REGISTRY_MAIN], {
      env: {
        ...process.env,
        ...common,
        DATABASE_URL: ns.databaseUrl,
        MIGRATE_ON_START: 'true',
        REGISTRY_HTTP_PORT: '0',
        REGISTRY_DIR,
        REGISTRY_AUTH: 'off',
      },
      stdio: 'ignore',
    });
    cleanups.push(() => stop(registry));
    const mesh = await startMeshRouterApp(
      loadMeshRouterConfig({
        ...common,
        DATABASE_URL: ns.databaseUrl,
        MESH_HTTP_PORT: '0',
        AUTH_ISSUER: gateway.url,
        AUTH_JWKS_URL: `${gateway.url}/.well-known/jwks.json`,
        MESH_RATE_LIMIT_PER_SECOND: '1000000',
        MESH_RATE_LIMIT_BURST: '1000000',
      }),
      { logger, migrate: true, startJobs: false },
    );
    cleanups.push(() => mesh.close());

    const bus = await connectBus({
      url: env.natsUrl,
      name: 'bench-a2a',
      subjectPrefix: ns.subjectPrefix,
      nameSuffix: ns.nameSuffix,
      logger,
    });
    cleanups.push(() => bus.close());
    for (let attempt = 0; ; attempt++) {
      try {
        await bus.request(GetAgent, { agentId: 'legal-agent' }, { timeoutMs: 1_000 });
        break;
      } catch (error) {
        if (attempt > 100) throw error;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const tokenRes = await fetch(`${gateway.url}/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=manager-agent&client_secret=manager-agent-dev-secret',
    });
    const token = ((await tokenRes.json()) as { access_token: string }).access_token;
    const base = new URL(gateway.url);
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    cleanups.push(async () => agent.destroy());

    const viaRest = async () => {
      const res = await post(agent, base, '/v1/tasks', token, {
        to: 'legal-agent',
        type: 'a2a-message',
        input: { text: 'Is contract c-42 SOX compliant?' },
      });
      if (res.status !== 202) throw new Error(`REST answered ${res.status}`);
    };
    let id = 0;
    const viaA2A = async () => {
      const res = await post(
        agent,
        base,
        '/a2a/legal-agent',
        token,
        {
          jsonrpc: '2.0',
          id: ++id,
          method: 'SendMessage',
          params: {
            message: {
              messageId: randomUUID(),
              role: 'ROLE_USER',
              parts: [{ text: 'Is contract c-42 SOX compliant?' }],
            },
            configuration: { returnImmediately: true },
          },
        },
        { 'A2A-Version': '1.0' },
      );
      const result = (res.body as { result?: { task?: { status?: { state?: string } } } }).result;
      if (res.status !== 200 || result?.task?.status?.state !== 'TASK_STATE_SUBMITTED') {
        throw new Error(`A2A answered ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      }
    };
    await viaRest();
    await viaA2A();

    const results = await runComparison([
      {
        name: 'rest.send-task.c1',
        durationMs: DURATION_MS,
        op: viaRest,
        notes:
          'POST /v1/tasks to legal-agent through the gateway: mesh SendTask (policy, one commit), 202 with the task',
      },
      {
        name: 'a2a.send-message.c1',
        baseline: 'rest.send-task.c1',
        durationMs: DURATION_MS,
        op: viaA2A,
        notes:
          'JSON-RPC SendMessage (returnImmediately) to /a2a/legal-agent: the same SendTask, answered as an A2A task',
      },
    ]);
    const a2a = results.find((r) => r.name === 'a2a.send-message.c1');
    const rest = results.find((r) => r.name === 'rest.send-task.c1');
    if (a2a && rest) {
      a2a.extra = {
        addedP50Ms: round(a2a.latencyMs.p50 - rest.latencyMs.p50, 3),
        addedP99Ms: round(a2a.latencyMs.p99 - rest.latencyMs.p99, 3),
        targetAddedP50Ms: 5,
      };
      progress(
        `    A2A SendMessage → task created: p50 ${round(a2a.latencyMs.p50, 2)} ms vs REST ${round(rest.latencyMs.p50, 2)} ms, added p50 ${a2a.extra['addedP50Ms']} ms (target ≤ 5 ms)`,
      );
    }
    results.push(...(await followDelays(base, gateway.url, bus, token, agent)));
    return results;
  } finally {
    for (const step of cleanups.reverse())
      await step().catch((error: unknown) => progress(`  cleanup: ${String(error)}`));
  }
}

/** The mesh task version an A2A stream or push body carries (`statusUpdate.metadata.orgmesh.version`). */
function versionIn(json: unknown): number | undefined {
  const update = (json as { statusUpdate?: { metadata?: { orgmesh?: { version?: number } } } })?.statusUpdate;
  return update?.metadata?.orgmesh?.version;
}

async function followDelays(
  base: URL,
  gatewayUrl: string,
  bus: Awaited<ReturnType<typeof connectBus>>,
  managerToken: string,
  agent: Agent,
): Promise<BenchResult[]> {
  const tokenRes = await fetch(`${gatewayUrl}/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&client_id=legal-agent&client_secret=legal-agent-dev-secret',
  });
  const legalToken = ((await tokenRes.json()) as { access_token: string }).access_token;
  const created = await post(agent, base, '/v1/tasks', managerToken, {
    to: 'legal-agent',
    type: 'bench-follow',
  });
  const taskId = (created.body as { id: string }).id;
  const update = async (body: Record<string, unknown>) => {
    const res = await post(agent, base, `/v1/tasks/${taskId}/updates`, legalToken, body);
    if (res.status !== 200) throw new Error(`update answered ${res.status}`);
  };
  await update({ state: 'working' });

  const arrivals = {
    mesh: new Map<number, number>(),
    stream: new Map<number, number>(),
    push: new Map<number, number>(),
  };
  const meshSub = bus.nc.subscribe(bus.subject('mesh.v1.task-updated'), {
    callback: (_error, msg) => {
      const change = msg.json<{ task: { id: string; version: number } }>();
      if (change.task.id === taskId) arrivals.mesh.set(change.task.version, performance.now());
    },
  });
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const version = versionIn(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      if (version !== undefined) arrivals.push.set(version, performance.now());
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const rpc = (method: string, params: unknown) =>
    post(
      agent,
      base,
      '/a2a/legal-agent',
      managerToken,
      { jsonrpc: '2.0', id: 1, method, params },
      { 'A2A-Version': '1.0' },
    );
  const config = await rpc('CreateTaskPushNotificationConfig', { taskId, url: hook });
  if ((config.body as { error?: unknown }).error)
    throw new Error(`push config refused: ${JSON.stringify(config.body)}`);

  const controller = new AbortController();
  const stream = await fetch(`${gatewayUrl}/a2a/legal-agent`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${managerToken}`,
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'A2A-Version': '1.0',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'SubscribeToTask', params: { id: taskId } }),
    signal: controller.signal,
  });
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.split('\n').find((line) => line.startsWith('data: '));
          if (!data) continue;
          const version = versionIn((JSON.parse(data.slice(6)) as { result?: unknown }).result);
          if (version !== undefined) arrivals.stream.set(version, performance.now());
        }
      }
    } catch {
      // aborted at the end
    }
  })();
  // The stream's first frame (the task) shows the subscription is in place.
  await new Promise((r) => setTimeout(r, 300));

  const streamDelay = new LatencyHistogram();
  const pushDelay = new LatencyHistogram();
  let version = 2;
  let missing = 0;
  const started = performance.now();
  for (let i = 0; i < FOLLOW_UPDATES; i++) {
    await update(i % 2 === 0 ? { state: 'input-required', reason: 'bench' } : { state: 'working' });
    version++;
    const deadline = performance.now() + 5_000;
    while (
      !(arrivals.mesh.has(version) && arrivals.stream.has(version) && arrivals.push.has(version)) &&
      performance.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 1));
    }
    const mesh = arrivals.mesh.get(version);
    const viaStream = arrivals.stream.get(version);
    const viaPush = arrivals.push.get(version);
    if (mesh === undefined || viaStream === undefined || viaPush === undefined) {
      missing++;
      continue;
    }
    streamDelay.record(viaStream - mesh);
    pushDelay.record(viaPush - mesh);
  }
  const elapsed = performance.now() - started;
  controller.abort();
  await reading;
  meshSub.unsubscribe();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));

  const result = (name: string, histogram: LatencyHistogram, target: number, notes: string): BenchResult => ({
    name,
    concurrency: 1,
    ops: histogram.count,
    errors: missing,
    durationMs: round(elapsed, 0),
    throughput: round((histogram.count / elapsed) * 1000, 1),
    latencyMs: {
      mean: round(histogram.mean(), 3),
      p50: round(histogram.percentile(50), 3),
      p95: round(histogram.percentile(95), 3),
      p99: round(histogram.percentile(99), 3),
      max: round(histogram.max, 3),
    },
    peakRssMb: round(process.memoryUsage().rss / 1024 / 1024, 0),
    notes,
    extra: { targetP50Ms: target },
  });
  const results = [
    result(
      'a2a.stream-after-mesh-event',
      streamDelay,
      5,
      'delay from the mesh task-updated event (core NATS, this process) to the same change on an A2A SubscribeToTask SSE stream',
    ),
    result(
      'a2a.push-after-mesh-event',
      pushDelay,
      20,
      'delay from the mesh task-updated event to the push notification POST at a loopback receiver',
    ),
  ];
  for (const r of results) {
    progress(
      `    ${r.name}: p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms over ${r.ops} changes (target p50 ≤ ${r.extra?.['targetP50Ms']} ms)${missing ? `, ${missing} not seen` : ''}`,
    );
  }
  return results;
}
