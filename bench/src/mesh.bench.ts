import pg from 'pg';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager } from '@nats-io/jetstream';
import { createJwtVerifier, LocalIssuer } from '@orgmesh/auth';
import { GetManager, ResolvePolicy, SendTask, TaskUpdated, type TaskChange } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { startTestAgent, type TestAgent } from '@orgmesh/testing';
// The mesh router runs in process so the bench measures it without a process-spawning harness.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { loadMeshRouterConfig, startMeshRouterApp, type MeshRouterApp } from '@orgmesh/mesh-router';
import { benchEnv, benchToken, progress, runScenario, type BenchResult } from './harness.js';

/**
 * Mesh benchmark (issue 5): a full task lifecycle — send-task → the test agent takes it from its
 * role inbox (update working) → completes it (update completed) → the sender observes completion
 * (the task-updated event) — with 16 concurrent senders, closed loop (throughput) and open loop at
 * 200 tasks/s (latency); and the same with an agent that completes on receipt (no separate
 * `working` report), which takes one durable commit off each lifecycle. Baseline measured in the
 * same run: a raw NATS request/reply whose responder does one Postgres insert per message. Everything (router, relay, agent, senders)
 * shares this one process, so the figures are a floor for a deployment with separate processes.
 * Targets: ≥ 1,000 lifecycles/s; p50 ≤ 5 ms and p99 ≤ 25 ms at 200 tasks/s.
 */

const SENDERS = 16;
const DURATION_MS = 4_000;
const RATE = 200;

async function withAdmin<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Resolves the wait for a task id when its completion event arrives (core subscription on the event subject). */
class Completions {
  private readonly waiting = new Map<string, () => void>();
  private readonly early = new Set<string>();
  expect(id: string): Promise<void> {
    if (this.early.delete(id)) return Promise.resolve();
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }
  completed(id: string): void {
    const resolve = this.waiting.get(id);
    if (resolve) {
      this.waiting.delete(id);
      resolve();
    } else this.early.add(id);
  }
  async within<T>(ms: number, promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no completion in ${ms} ms`)), ms)))]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export async function run(): Promise<BenchResult[]> {
  const env = benchEnv();
  const token = benchToken('bm');
  const prefix = `${token}.`;
  const suffix = `_${token.toUpperCase()}`;
  const dbName = `om_${token}`;
  const dbUrl = databaseUrl(env.databaseUrl, dbName);
  const logger = createLogger({ service: 'bench-mesh', level: process.env['LOG_LEVEL'] ?? 'warn' });
  const results: BenchResult[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch((error: unknown) => progress(`  cleanup: ${String(error)}`));
  };

  await withAdmin(env.databaseUrl, (c) => c.query(`CREATE DATABASE "${dbName}"`));
  cleanups.push(() => withAdmin(env.databaseUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`)));
  try {
    // ------------------------------------------------------------ baseline
    progress('  baseline: raw NATS request/reply + one Postgres insert');
    const rawServer: NatsConnection = await connect({ servers: env.natsUrl, name: 'bench-mesh-raw-server' });
    const rawClient: NatsConnection = await connect({ servers: env.natsUrl, name: 'bench-mesh-raw-client' });
    cleanups.push(() => rawServer.close(), () => rawClient.close());
    const pool = new pg.Pool({ connectionString: dbUrl, max: 10 });
    cleanups.push(() => pool.end());
    await pool.query(`CREATE TABLE baseline_messages (id bigserial PRIMARY KEY, body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
    const rawSubject = `${prefix}raw.send`;
    rawServer.subscribe(rawSubject, {
      queue: 'bench',
      callback: (_error, msg) => {
        void pool.query(`INSERT INTO baseline_messages (body) VALUES ($1::jsonb) RETURNING id`, [msg.string()]).then(
          ({ rows }) => msg.respond(JSON.stringify({ id: rows[0]?.id })),
          () => msg.respond(JSON.stringify({ error: 'insert failed' })),
        );
      },
    });
    await rawServer.flush();
    const baselineOp = async (_w: unknown, i: number) => {
      const reply = await rawClient.request(rawSubject, JSON.stringify({ to: 'worker', type: 'bench', input: { i } }), { timeout: 5_000 });
      reply.json();
    };
    results.push(
      await runScenario({ name: 'baseline.nats-request+pg-insert.c16', concurrency: SENDERS, durationMs: DURATION_MS, op: baselineOp, notes: 'core NATS request, responder inserts one row, replies' }),
    );
    results.push(
      await runScenario({
        name: 'baseline.nats-request+pg-insert.rate200',
        concurrency: SENDERS,
        durationMs: DURATION_MS,
        ratePerSec: RATE,
        op: baselineOp,
        notes: 'same, open loop at 200/s',
      }),
    );

    // ------------------------------------------------------------ the mesh
    progress('  mesh router + test agent');
    const issuer = await LocalIssuer.create();
    const mesh: MeshRouterApp = await startMeshRouterApp(
      loadMeshRouterConfig({
        NATS_URL: env.natsUrl,
        DATABASE_URL: dbUrl,
        MESH_HTTP_PORT: '0',
        NATS_SUBJECT_PREFIX: prefix,
        NATS_NAME_SUFFIX: suffix,
        LOG_LEVEL: 'warn',
        DATABASE_POOL_SIZE: '32',
        MESH_RATE_LIMIT_PER_SECOND: '1000000',
        MESH_RATE_LIMIT_BURST: '1000000',
      }),
      { logger, migrate: true, verifier: createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks }) },
    );
    cleanups.push(() => mesh.close());
    const busOptions = { url: env.natsUrl, subjectPrefix: prefix, nameSuffix: suffix, logger };
    const registryBus: MessageBus = await connectBus({ ...busOptions, name: 'bench-registry' });
    cleanups.push(() => registryBus.close());
    // The registry's wire contract, answering allow for the benchmark's one route.
    registryBus.serve(ResolvePolicy, async (r) => ({ allowed: true, rule: 'bench: allow', fromRole: r.from, toRole: r.to, version: 1 }), { queue: 'registry' });
    registryBus.serve(GetManager, async () => {
      throw new Error('not used');
    });
    cleanups.push(async () => {
      const jsm = await jetstreamManager(rawClient);
      for await (const name of jsm.streams.names()) if (name.endsWith(suffix)) await jsm.streams.delete(name);
    });

    const agent: TestAgent = await startTestAgent({
      natsUrl: env.natsUrl,
      subjectPrefix: prefix,
      nameSuffix: suffix,
      role: 'worker',
      agentId: 'worker-agent',
      token: await issuer.sign({ sub: 'worker-agent', role: 'worker' }),
      behaviour: { kind: 'complete', result: { ok: true } },
      concurrency: 32,
      logger,
    });
    const fastAgent: TestAgent = await startTestAgent({
      natsUrl: env.natsUrl,
      subjectPrefix: prefix,
      nameSuffix: suffix,
      role: 'fast-worker',
      agentId: 'fast-worker-agent',
      token: await issuer.sign({ sub: 'fast-worker-agent', role: 'fast-worker' }),
      behaviour: { kind: 'complete', result: { ok: true }, skipWorking: true },
      concurrency: 32,
      logger,
    });
    cleanups.push(() => agent.stop(), () => fastAgent.stop());

    const clientBus = await connectBus({ ...busOptions, name: 'bench-senders' });
    cleanups.push(() => clientBus.close());
    const completions = new Completions();
    clientBus.nc.subscribe(clientBus.subject(TaskUpdated.subject), {
      callback: (_error, msg) => {
        const change = msg.json<TaskChange>();
        if (change.task.state === 'completed') completions.completed(change.task.id);
      },
    });
    await clientBus.nc.flush();
    const senders = await Promise.all(
      Array.from({ length: SENDERS }, async (_, i) => `Bearer ${await issuer.sign({ sub: `sender-${i}`, role: 'finance' })}`),
    );
    const lifecycle = async (w: { authorization: string; to: string }, i: number) => {
      const task = await clientBus.request(SendTask, { to: w.to, type: 'bench', input: { i } }, { authorization: w.authorization });
      await completions.within(10_000, completions.expect(task.id));
    };
    for (const variant of ['', '.direct'] as const) {
      const behaviour = variant ? 'skipWorking' : 'working';
      const lifecycleNotes = variant
        ? 'the agent completes on receipt (no separate working report): two commits per lifecycle'
        : 'send-task → inbox → agent reports working → completed → sender sees task-updated: three commits per lifecycle';
      results.push(
        await runScenario({
          name: `mesh.lifecycle${variant}.c16`,
          baseline: 'baseline.nats-request+pg-insert.c16',
          concurrency: SENDERS,
          durationMs: DURATION_MS,
          setupWorker: (index: number) => ({ authorization: senders[index % senders.length]!, to: behaviour === 'working' ? 'worker' : 'fast-worker' }),
          op: (w: { authorization: string; to: string }, i: number) => lifecycle(w, i),
          notes: `${lifecycleNotes}; closed loop`,
        }),
      );
      results.push(
        await runScenario({
          name: `mesh.lifecycle${variant}.rate200`,
          baseline: 'baseline.nats-request+pg-insert.rate200',
          concurrency: SENDERS,
          durationMs: DURATION_MS,
          ratePerSec: RATE,
          setupWorker: (index: number) => ({ authorization: senders[index % senders.length]!, to: behaviour === 'working' ? 'worker' : 'fast-worker' }),
          op: (w: { authorization: string; to: string }, i: number) => lifecycle(w, i),
          notes: `${lifecycleNotes}; open loop at 200 tasks/s (latency from scheduled start)`,
        }),
      );
    }
    results.push(
      await runScenario({
        name: 'mesh.send-task.c16',
        baseline: 'baseline.nats-request+pg-insert.c16',
        concurrency: SENDERS,
        durationMs: DURATION_MS,
        setupWorker: (index: number) => senders[index % senders.length]!,
        op: (authorization: string, i: number) => clientBus.request(SendTask, { to: 'idle', type: 'bench', input: { i } }, { authorization }),
        notes: 'the send alone (policy cached, task + history + event + delivery in one transaction); no agent for role idle',
      }),
    );
  } finally {
    await cleanup();
  }
  return results;
}
