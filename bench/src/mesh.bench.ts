import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { LocalIssuer } from '@orgmesh/auth';
import {
  GetManager,
  GetTask,
  ResolvePolicy,
  MESH_UPDATES_SUBJECT,
  SendTask,
  type TaskChange,
} from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { freePort, startTestAgent, type TestAgent } from '@orgmesh/testing';
import {
  benchNamespace,
  benchEnv,
  progress,
  processCpuMs,
  runScenario,
  type BenchResult,
  type ScenarioOptions,
} from './harness.js';

/**
 * Mesh benchmark (issue 5): a full task lifecycle — send-task → the test agent takes it from its
 * role inbox (update working) → completes it (update completed) → the sender observes completion
 * (the router's copy of the task-updated event on the sender's own `mesh.v1.updates.<agentId>`, as
 * an agent credential hears it, ADR 0011) — with 16 concurrent senders, closed loop (throughput) and open loop at
 * 200 tasks/s (latency); and the same with an agent that completes on receipt (no separate
 * `working` report), which takes one durable commit off each lifecycle. Baseline measured in the
 * same run: a raw NATS request/reply whose responder does one Postgres insert per message.
 * The mesh router runs as its own OS process (services/mesh-router/dist/main.js, as deployed);
 * the agent, the senders and the registry's policy answers run in the bench process.
 * Targets: ≥ 1,000 lifecycles/s; p50 ≤ 5 ms and p99 ≤ 25 ms at 200 tasks/s.
 */

const ROUTER_MAIN = fileURLToPath(new URL('../../services/mesh-router/dist/main.js', import.meta.url));
const SENDERS = 16;
const DURATION_MS = 4_000;
const RATE = 200;
/**
 * Unmeasured warm-up of the mesh scenarios. The router is a process started for this benchmark, and
 * its first seconds are spent compiling: in the first 4 s of load, V8's optimising compiler took
 * ~17 % of the router's CPU (perf). A router in service has been running for hours, so the mesh
 * scenarios (and, alike, their baselines) are measured after 3 s of the same load, not the
 * harness's default 500 ms.
 */
const MESH_WARMUP_MS = meshWarmupMs();

/** BENCH_MESH_WARMUP_MS overrides the warm-up (ms, not scaled by BENCH_SCALE). */
function meshWarmupMs(): number {
  const raw = process.env['BENCH_MESH_WARMUP_MS'];
  if (raw === undefined) return 3_000;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0)
    throw new Error(`BENCH_MESH_WARMUP_MS must be a whole number ≥ 0, got ${raw}`);
  return ms;
}

/** Serves the issuer's JWKS, as the gateway's built-in issuer does, for the router to verify tokens with. */
async function serveJwks(issuer: LocalIssuer): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(issuer.jwks)),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`, server };
}

/** Starts the router process and waits for /readyz. */
async function startRouter(env: Record<string, string>, healthPort: number): Promise<ChildProcess> {
  // BENCH_MESH_ROUTER_NODE_ARGS: extra node flags for the router processes (e.g. `--cpu-prof
  // --cpu-prof-dir=/tmp/prof`), to profile a router under the benchmark's load.
  const nodeArgs = (process.env['BENCH_MESH_ROUTER_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ROUTER_MAIN], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mesh router exited with ${child.exitCode}`);
    const ready = await fetch(`http://127.0.0.1:${healthPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('mesh router did not become ready in 30 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stopRouter(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** Resolves the wait for a task id when its completion event arrives (core subscription on the event subject). */
class Completions {
  private readonly waiting = new Map<string, () => void>();
  private readonly early = new Set<string>();
  recording = false;
  expect(id: string): Promise<void> {
    if (this.early.delete(id)) return Promise.resolve();
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }
  /** When each completion arrived (epoch ms), for the breakdown. */
  readonly arrivedAt = new Map<string, number>();
  completed(id: string): void {
    if (this.recording) this.arrivedAt.set(id, epochMs());
    const resolve = this.waiting.get(id);
    if (resolve) {
      this.waiting.delete(id);
      resolve();
    } else this.early.add(id);
  }
  async within<T>(ms: number, promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        promise,
        new Promise<never>(
          (_, reject) => (timer = setTimeout(() => reject(new Error(`no completion in ${ms} ms`)), ms)),
        ),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Read and write system calls the process has made so far (/proc/<pid>/io); undefined where that is not there. */
function processSyscalls(pid: number | undefined): { reads: number; writes: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? NaN);
    return { reads: field('syscr'), writes: field('syscw') };
  } catch {
    return undefined;
  }
}

/** Transactions committed in the bench database so far (Postgres's statistics, flushed within ~1 s). */
async function commitsOf(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    'SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(rows[0]?.n ?? NaN);
}

/**
 * CPU (ms) of the Postgres backends of the bench database whose application_name starts with
 * `application`, by backend pid, read from /proc: undefined unless Postgres runs on this machine
 * and /proc shows its processes (the bench's usual setting; a remote or containerised server gives n/a).
 */
async function backendsCpuMs(pool: pg.Pool, application: string): Promise<Map<number, number> | undefined> {
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE $1`,
    [`${application}%`],
  );
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    let command: string;
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return undefined;
    }
    const ms = processCpuMs(pid);
    if (!command.startsWith('postgres') || Number.isNaN(ms)) return undefined;
    cpu.set(pid, ms);
  }
  return cpu;
}

/** The nats-server process when exactly one runs on this machine (the bench's usual setting), else undefined. */
function natsServerPid(): number | undefined {
  const found: number[] = [];
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'nats-server') found.push(Number(entry));
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    return undefined;
  }
  return found.length === 1 ? found[0] : undefined;
}

/** Bytes of WAL the server has written so far (the whole server: nothing else writes during a bench). */
async function walBytesOf(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`SELECT (pg_current_wal_lsn() - '0/0')::text AS n`);
  return Number(rows[0]?.n ?? NaN);
}

/** Where an operation's CPU went (ms per operation; NaN for what /proc does not show). */
interface CpuBudget {
  /** The routers together; undefined for a scenario without one (the baselines). */
  routerMs: number | undefined;
  postgresMs: number;
  natsServerMs: number;
  benchProcessMs: number;
  totalMs: number;
}

/**
 * CPU of every process a scenario keeps busy, over its measured time: the routers `pids`, the
 * Postgres backends serving `backends` (application_name prefix; one opened during the scenario
 * counts whole, one closed during it is missed), nats-server (the one on this machine) and this
 * process (senders, agents, registry stub). Answers per operation, with each router's CPU in s.
 */
async function cpuBudget(pool: pg.Pool, pids: Array<number | undefined>, backends: string) {
  const nats = natsServerPid();
  const snapshot = async () => ({
    routers: pids.map(processCpuMs),
    backends: await backendsCpuMs(pool, backends),
    nats: processCpuMs(nats),
    self: process.cpuUsage(),
  });
  const before = await snapshot();
  return async (ops: number): Promise<{ budget: CpuBudget; routerSeconds: number[] }> => {
    const after = await snapshot();
    const routerSeconds = after.routers.map((ms, i) => (ms - before.routers[i]!) / 1000);
    const postgres =
      after.backends && before.backends
        ? [...after.backends].reduce((total, [pid, ms]) => total + ms - (before.backends!.get(pid) ?? 0), 0)
        : NaN;
    const self = process.cpuUsage(before.self);
    const perOp = (ms: number) => Number((ms / ops).toFixed(3));
    const parts = {
      routerMs: pids.length ? perOp(routerSeconds.reduce((a, b) => a + b, 0) * 1000) : undefined,
      postgresMs: perOp(postgres),
      natsServerMs: perOp(after.nats - before.nats),
      benchProcessMs: perOp((self.user + self.system) / 1000),
    };
    const total = Object.values(parts).reduce<number>((a, b) => a + (b ?? 0), 0);
    return { budget: { ...parts, totalMs: Number(total.toFixed(3)) }, routerSeconds };
  };
}

/** A budget as recorded figures (BenchResult.extra), the same names for the baselines and the lifecycles. */
function budgetFigures(budget: CpuBudget): Record<string, number> {
  return {
    ...(budget.routerMs === undefined ? {} : { routerCpuMsPerOp: budget.routerMs }),
    pgBackendCpuMsPerOp: budget.postgresMs,
    natsServerCpuMsPerOp: budget.natsServerMs,
    benchProcessCpuMsPerOp: budget.benchProcessMs,
    totalCpuMsPerOp: budget.totalMs,
  };
}

/** One line of a budget: where an operation's CPU went, and its multiple of `baselineMs` when given. */
function budgetLine(budget: CpuBudget, what: string, baselineMs?: number): string {
  const ms = (value: number) => (Number.isNaN(value) ? 'n/a' : `${value.toFixed(2)} ms`);
  const parts = [
    ...(budget.routerMs === undefined ? [] : [`router ${ms(budget.routerMs)}`]),
    `Postgres ${ms(budget.postgresMs)}`,
    `nats-server ${ms(budget.natsServerMs)}`,
    `bench process ${ms(budget.benchProcessMs)}`,
  ];
  const ratio =
    baselineMs && !Number.isNaN(budget.totalMs)
      ? ` (${(budget.totalMs / baselineMs).toFixed(1)}× the baseline's ${baselineMs.toFixed(2)} ms per operation)`
      : '';
  return `      CPU per ${what}, all processes: ${parts.join(' + ')} = ${ms(budget.totalMs)}${ratio}`;
}

/**
 * Per-lifecycle costs of the router processes over a scenario: system calls and Postgres commits
 * (the last counts the whole database, the bench's own few queries included), the WAL written, and
 * the CPU of every process involved (cpuBudget).
 */
async function routerCosts(pool: pg.Pool, pids: Array<number | undefined>) {
  const calls = () => pids.map(processSyscalls);
  // Backends flush their statistics at most once a second while busy: the commit counts of a
  // loaded scenario lag by about that much at both ends.
  const before = { calls: calls(), commits: await commitsOf(pool), wal: await walBytesOf(pool) };
  const cpu = await cpuBudget(pool, pids, 'orgmesh-mesh-router');
  return async (lifecycles: number) => {
    const { budget, routerSeconds } = await cpu(lifecycles);
    const after = { calls: calls(), commits: await commitsOf(pool), wal: await walBytesOf(pool) };
    const syscalls = (key: 'reads' | 'writes') =>
      after.calls.reduce<number>(
        (total, v, i) => total + (v && before.calls[i] ? v[key] - before.calls[i]![key] : NaN),
        0,
      );
    const perOp = (value: number) => Number((value / lifecycles).toFixed(3));
    return {
      budget,
      routerSeconds,
      figures: {
        ...budgetFigures(budget),
        routerSyscallReadsPerOp: perOp(syscalls('reads')),
        routerSyscallWritesPerOp: perOp(syscalls('writes')),
        pgCommitsPerOp: perOp(after.commits - before.commits),
        walBytesPerOp: Math.round((after.wal - before.wal) / lifecycles),
      },
    };
  };
}

/** Prints a scenario's router costs (see routerCosts), and its CPU against the baseline's per operation. */
function printCosts(
  costs: Awaited<ReturnType<Awaited<ReturnType<typeof routerCosts>>>>,
  baselineTotalMs: number | undefined,
): void {
  const { budget, routerSeconds, figures } = costs;
  progress(
    `      router CPU ≈ ${(budget.routerMs ?? NaN).toFixed(2)} ms per lifecycle (${routerSeconds.map((s) => s.toFixed(2)).join(' + ')} s); ` +
      `per lifecycle: ${figures.routerSyscallReadsPerOp.toFixed(1)} reads + ${figures.routerSyscallWritesPerOp.toFixed(1)} writes (syscalls), ` +
      `${figures.pgCommitsPerOp.toFixed(2)} Postgres commits, WAL ${figures.walBytesPerOp} B`,
  );
  progress(budgetLine(budget, 'lifecycle', baselineTotalMs));
}

/** A router's row-cache counters (orgmesh_mesh_update_row_cache_total), from its /metrics. */
async function rowCacheOf(port: number): Promise<Record<'hit' | 'miss' | 'learned', number>> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  const value = (result: string) =>
    Number(
      new RegExp(`orgmesh_mesh_update_row_cache_total\\{result="${result}"[^}]*\\} (\\d+)`).exec(text)?.[1] ??
        NaN,
    );
  return { hit: value('hit'), miss: value('miss'), learned: value('learned') };
}

const epochMs = () => performance.timeOrigin + performance.now();

/** One traced lifecycle: client-side times (epoch ms) around the router's own history timestamps. */
interface Traced {
  id: string;
  authorization: string;
  sentAt: number;
  repliedAt: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

/**
 * Where a lifecycle's time goes, from the client's clock and the router's history timestamps (same
 * machine, millisecond resolution): p50 of each stage over a sample of traced tasks.
 */
async function breakdown(bus: MessageBus, traced: Traced[], arrivedAt: Map<string, number>): Promise<string> {
  const stages: Record<string, number[]> = {
    'request → router stamps create': [],
    'create → sender has the reply': [],
    'create → working stamped (delivery + agent + RPC)': [],
    'working → completed stamped': [],
    'create → completed stamped (no working report)': [],
    'completed → sender sees the event': [],
    total: [],
  };
  for (const t of traced.slice(-200)) {
    const done = arrivedAt.get(t.id);
    if (done === undefined) continue;
    const task = await bus.request(
      GetTask,
      { id: t.id, includeHistory: true },
      { authorization: t.authorization },
    );
    const at = (event: string) => {
      const entry = task.history?.find((h) => h.event === event);
      return entry ? Date.parse(entry.occurredAt) : NaN;
    };
    const created = at('create');
    const working = at('start');
    const completed = at('complete');
    stages['request → router stamps create']!.push(created - t.sentAt);
    stages['create → sender has the reply']!.push(t.repliedAt - created);
    // The agent that completes on receipt reports no `working`: its stage is delivery + agent + RPC.
    if (Number.isNaN(working))
      stages['create → completed stamped (no working report)']!.push(completed - created);
    else {
      stages['create → working stamped (delivery + agent + RPC)']!.push(working - created);
      stages['working → completed stamped']!.push(completed - working);
    }
    stages['completed → sender sees the event']!.push(done - completed);
    stages.total!.push(done - t.sentAt);
  }
  return Object.entries(stages)
    .filter(([, values]) => values.length > 0)
    .map(([stage, values]) => `      ${stage.padEnd(52)} p50 ${median(values).toFixed(2)} ms`)
    .join('\n');
}

export async function run(): Promise<BenchResult[]> {
  const env = benchEnv();
  const ns = await benchNamespace('bm');
  const { subjectPrefix: prefix, nameSuffix: suffix, databaseUrl: dbUrl } = ns;
  const logger = createLogger({ service: 'bench-mesh', level: process.env['LOG_LEVEL'] ?? 'warn' });
  const results: BenchResult[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse())
      await step().catch((error: unknown) => progress(`  cleanup: ${String(error)}`));
  };

  cleanups.push(() => ns.dispose());
  try {
    // ------------------------------------------------------------ baseline
    progress('  baseline: raw NATS request/reply + one Postgres insert');
    const rawServer: NatsConnection = await connect({ servers: env.natsUrl, name: 'bench-mesh-raw-server' });
    const rawClient: NatsConnection = await connect({ servers: env.natsUrl, name: 'bench-mesh-raw-client' });
    cleanups.push(
      () => rawServer.close(),
      () => rawClient.close(),
    );
    // Its backends are the baseline's Postgres CPU (cpuBudget finds them by this name).
    const pool = new pg.Pool({ connectionString: dbUrl, max: 10, application_name: 'bench-mesh-baseline' });
    cleanups.push(() => pool.end());
    await pool.query(
      `CREATE TABLE baseline_messages (id bigserial PRIMARY KEY, body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
    );
    const rawSubject = `${prefix}raw.send`;
    rawServer.subscribe(rawSubject, {
      queue: 'bench',
      callback: (_error, msg) => {
        void pool
          .query(`INSERT INTO baseline_messages (body) VALUES ($1::jsonb) RETURNING id`, [msg.string()])
          .then(
            ({ rows }) => msg.respond(JSON.stringify({ id: rows[0]?.id })),
            () => msg.respond(JSON.stringify({ error: 'insert failed' })),
          );
      },
    });
    await rawServer.flush();
    const baselineOp = async (_w: unknown, i: number) => {
      const reply = await rawClient.request(
        rawSubject,
        JSON.stringify({ to: 'worker', type: 'bench', input: { i } }),
        { timeout: 5_000 },
      );
      reply.json();
    };
    /** Total CPU per operation of each baseline (cpuBudget), for the lifecycles' comparison. */
    const baselineCpu = new Map<string, number>();
    const baselineRun = async (scenario: Omit<ScenarioOptions<unknown>, 'afterWarmUp'>) => {
      let budget: Awaited<ReturnType<typeof cpuBudget>> | undefined;
      const result = await runScenario({
        ...scenario,
        afterWarmUp: async () => void (budget = await cpuBudget(pool, [], 'bench-mesh-baseline')),
      });
      const { budget: cpu } = await budget!(result.throughput * (result.durationMs / 1000));
      result.extra = { ...result.extra, ...budgetFigures(cpu) };
      baselineCpu.set(result.name, cpu.totalMs);
      progress(budgetLine(cpu, 'operation'));
      results.push(result);
    };
    await baselineRun({
      name: 'baseline.nats-request+pg-insert.c16',
      concurrency: SENDERS,
      durationMs: DURATION_MS,
      warmupMs: MESH_WARMUP_MS,
      op: baselineOp,
      notes: 'core NATS request, responder inserts one row, replies',
    });
    await baselineRun({
      name: 'baseline.nats-request+pg-insert.rate200',
      concurrency: SENDERS,
      durationMs: DURATION_MS,
      warmupMs: MESH_WARMUP_MS,
      ratePerSec: RATE,
      op: baselineOp,
      notes: 'same, open loop at 200/s',
    });

    // ------------------------------------------------------------ the mesh
    progress('  mesh router + test agent');
    const issuer = await LocalIssuer.create();
    const jwks = await serveJwks(issuer);
    cleanups.push(() => new Promise<void>((resolve) => jwks.server.close(() => resolve())));
    const routerEnv = (healthPort: number): Record<string, string> => ({
      NATS_URL: env.natsUrl,
      DATABASE_URL: dbUrl,
      MIGRATE_ON_START: 'true',
      MESH_HTTP_PORT: String(healthPort),
      NATS_SUBJECT_PREFIX: prefix,
      NATS_NAME_SUFFIX: suffix,
      LOG_LEVEL: 'warn',
      DATABASE_POOL_SIZE: '32',
      AUTH_ISSUER: issuer.issuer,
      AUTH_AUDIENCE: issuer.audience,
      AUTH_JWKS_URL: jwks.url,
      MESH_RATE_LIMIT_PER_SECOND: '1000000',
      MESH_RATE_LIMIT_BURST: '1000000',
    });
    const healthPort = await freePort();
    const router = await startRouter(routerEnv(healthPort), healthPort);
    cleanups.push(() => stopRouter(router));
    const busOptions = { url: env.natsUrl, subjectPrefix: prefix, nameSuffix: suffix, logger };
    const registryBus: MessageBus = await connectBus({ ...busOptions, name: 'bench-registry' });
    cleanups.push(() => registryBus.close());
    // The registry's wire contract, answering allow for the benchmark's one route.
    registryBus.serve(
      ResolvePolicy,
      async (r) => ({ allowed: true, rule: 'bench: allow', fromRole: r.from, toRole: r.to, version: 1 }),
      { queue: 'registry' },
    );
    registryBus.serve(GetManager, async () => {
      throw new Error('not used');
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
    cleanups.push(
      () => agent.stop(),
      () => fastAgent.stop(),
    );

    const clientBus = await connectBus({ ...busOptions, name: 'bench-senders' });
    cleanups.push(() => clientBus.close());
    const completions = new Completions();
    // The senders' own updates subjects (as each sender's SDK would subscribe to its own).
    clientBus.nc.subscribe(clientBus.subject(`${MESH_UPDATES_SUBJECT}.*`), {
      callback: (_error, msg) => {
        const change = msg.json<TaskChange>();
        if (change.task.state === 'completed') completions.completed(change.task.id);
      },
    });
    await clientBus.nc.flush();
    const senders = await Promise.all(
      Array.from(
        { length: SENDERS },
        async (_, i) => `Bearer ${await issuer.sign({ sub: `sender-${i}`, role: 'finance' })}`,
      ),
    );
    let traced: Traced[] | undefined;
    const lifecycle = async (w: { authorization: string; to: string }, i: number) => {
      const sentAt = traced ? epochMs() : 0;
      const task = await clientBus.request(
        SendTask,
        { to: w.to, type: 'bench', input: { i } },
        { authorization: w.authorization },
      );
      traced?.push({ id: task.id, authorization: w.authorization, sentAt, repliedAt: epochMs() });
      await completions.within(10_000, completions.expect(task.id));
    };
    // BENCH_MESH_BREAKDOWN=1: after each lifecycle run, print where a lifecycle's time goes.
    const tracing = process.env['BENCH_MESH_BREAKDOWN'] === '1';
    // BENCH_MESH_ONLY=<regex>: run only the mesh scenarios whose name matches (the baselines always run).
    const only = process.env['BENCH_MESH_ONLY'] ? new RegExp(process.env['BENCH_MESH_ONLY']) : undefined;
    const wanted = (name: string) => !only || only.test(name);
    type Sender = { authorization: string; to: string };
    const sendingTo =
      (to: string) =>
      (index: number): Sender => ({ authorization: senders[index % senders.length]!, to });
    /**
     * One lifecycle scenario, measured with the CPU, system calls and commits per lifecycle of the
     * routers `pids` over its measured time (routerCosts: a steadier figure than latency on a noisy
     * machine, for comparing changes to the router), printed and recorded.
     */
    const lifecycleRun = async (
      pids: Array<number | undefined>,
      scenario: Omit<ScenarioOptions<Sender>, 'durationMs' | 'warmupMs' | 'afterWarmUp' | 'op'>,
    ): Promise<void> => {
      let costs: Awaited<ReturnType<typeof routerCosts>> | undefined;
      const result = await runScenario<Sender>({
        durationMs: DURATION_MS,
        warmupMs: MESH_WARMUP_MS,
        ...scenario,
        afterWarmUp: async () => void (costs = await routerCosts(pool, pids)),
        op: (w, i) => lifecycle(w, i),
      });
      const cost = await costs!(result.throughput * (result.durationMs / 1000));
      result.extra = { ...result.extra, ...cost.figures };
      printCosts(cost, scenario.baseline ? baselineCpu.get(scenario.baseline) : undefined);
      results.push(result);
    };
    for (const variant of ['', '.direct'] as const) {
      const behaviour = variant ? 'skipWorking' : 'working';
      const lifecycleNotes = variant
        ? 'the agent completes on receipt (no separate working report): two commits per lifecycle'
        : 'send-task → inbox → agent reports working → completed → sender sees its update: three commits per lifecycle';
      for (const mode of ['c16', 'rate200'] as const) {
        if (!wanted(`mesh.lifecycle${variant}.${mode}`)) continue;
        if (tracing) {
          traced = [];
          completions.recording = true;
        }
        await lifecycleRun([router.pid], {
          name: `mesh.lifecycle${variant}.${mode}`,
          baseline: `baseline.nats-request+pg-insert.${mode}`,
          concurrency: SENDERS,
          ...(mode === 'rate200' ? { ratePerSec: RATE } : {}),
          setupWorker: sendingTo(behaviour === 'working' ? 'worker' : 'fast-worker'),
          notes:
            mode === 'c16'
              ? `${lifecycleNotes}; closed loop`
              : `${lifecycleNotes}; open loop at 200 tasks/s (latency from scheduled start)`,
        });
        if (traced) {
          progress(`    breakdown of mesh.lifecycle${variant}.${mode} (p50 per stage):`);
          progress(await breakdown(clientBus, traced, completions.arrivedAt));
          traced = undefined;
          completions.recording = false;
          completions.arrivedAt.clear();
        }
      }
    }
    // Two replicas in one queue group, as a Deployment with replicas: 2 runs them: requests land
    // on either, and each learns the other's changes from the task events (ReplicaCacheSync).
    // mesh.lifecycle.2-replicas.c32 (only when BENCH_MESH_ONLY names it): each replica then has as
    // many senders as the lone router of mesh.lifecycle.c16, to compare the cost at an equal
    // per-process load.
    const replicaRuns = [
      { name: 'mesh.lifecycle.2-replicas.c16', concurrency: SENDERS },
      ...(only?.test('mesh.lifecycle.2-replicas.c32')
        ? [{ name: 'mesh.lifecycle.2-replicas.c32', concurrency: SENDERS * 2 }]
        : []),
    ].filter((run) => wanted(run.name));
    if (replicaRuns.length > 0) {
      const secondPort = await freePort();
      const second = await startRouter(routerEnv(secondPort), secondPort);
      try {
        for (const run of replicaRuns) {
          if (tracing) {
            traced = [];
            completions.recording = true;
          }
          // Both routers together, to compare with mesh.lifecycle.c16's one router.
          await lifecycleRun([router.pid, second.pid], {
            name: run.name,
            baseline: 'baseline.nats-request+pg-insert.c16',
            concurrency: run.concurrency,
            setupWorker: sendingTo('worker'),
            notes: `the full lifecycle with two router processes in one queue group; closed loop, ${run.concurrency} senders`,
          });
          const stats = await Promise.all([healthPort, secondPort].map(rowCacheOf));
          progress(
            `      row cache per replica (hit/miss/learned): ${stats.map((r) => `${r.hit}/${r.miss}/${r.learned}`).join(', ')}`,
          );
          if (traced) {
            progress(`    breakdown of ${run.name} (p50 per stage):`);
            progress(await breakdown(clientBus, traced, completions.arrivedAt));
            traced = undefined;
            completions.recording = false;
            completions.arrivedAt.clear();
          }
        }
      } finally {
        await stopRouter(second);
      }
      // The lone router again, once the second has stopped: the machine drifts over a run (the
      // baselines of one run differ by up to 20 %), so the two-replica figures are read against the
      // lone router measured before and after them.
      if (wanted('mesh.lifecycle.c16.after-replicas'))
        await lifecycleRun([router.pid], {
          name: 'mesh.lifecycle.c16.after-replicas',
          baseline: 'baseline.nats-request+pg-insert.c16',
          concurrency: SENDERS,
          setupWorker: sendingTo('worker'),
          notes: 'mesh.lifecycle.c16 again, after the two-replica runs (the second router stopped)',
        });
    }
    if (wanted('mesh.send-task.c16'))
      results.push(
        await runScenario({
          name: 'mesh.send-task.c16',
          baseline: 'baseline.nats-request+pg-insert.c16',
          concurrency: SENDERS,
          durationMs: DURATION_MS,
          warmupMs: MESH_WARMUP_MS,
          setupWorker: (index: number) => senders[index % senders.length]!,
          op: (authorization: string, i: number) =>
            clientBus.request(SendTask, { to: 'idle', type: 'bench', input: { i } }, { authorization }),
          notes:
            'the send alone (policy cached, task + history + event + delivery in one transaction); no agent for role idle',
        }),
      );
  } finally {
    await cleanup();
  }
  return results;
}
