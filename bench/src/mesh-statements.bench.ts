import { randomUUID } from 'node:crypto';
import { runMigrations } from '@orgmesh/migrations';
import { Database } from '@orgmesh/persistence';
import { TaskRepository, taskCreate, taskWrite } from '@orgmesh/mesh-router/testing';
import {
  benchNamespace,
  processCpuMs,
  progress,
  runComparison,
  type BenchResult,
  type ScenarioOptions,
} from './harness.js';

/**
 * The mesh router's batched task statements as Postgres runs them (ADR 0025): one lifecycle is a
 * create, a `working` update and a `completed` update (both with idempotency keys, as an agent's
 * SDK sends them) with the eagerly published rows marked, through the router's TaskRepository, on
 * a pool of ONE connection so that Postgres's own CPU for it can be read off that backend
 * (/proc/<pid>/stat; Postgres must run on this machine). The subject plans the statements
 * generically (`plan_cache_mode=force_generic_plan`, the router's batch pool); the baseline lets
 * Postgres choose (`auto`), which re-plans them at each execution. `lanes1`: lifecycles one after
 * the other, each statement alone (an idle or lightly loaded router); `lanes8`: eight at a time,
 * statements of several lifecycles in one batch. The two of a pair run interleaved (runComparison).
 */

const MODES = [
  { name: 'auto', planCacheMode: undefined },
  { name: 'generic', planCacheMode: 'force_generic_plan' },
] as const;

export async function run(): Promise<BenchResult[]> {
  const ns = await benchNamespace('ms');
  const pools: Database[] = [];
  try {
    progress('  migrating the mesh schema');
    await runMigrations({ url: ns.databaseUrl, service: 'mesh' });
    const results: BenchResult[] = [];
    for (const lanes of [1, 8]) {
      const scenarios: Array<ScenarioOptions<unknown>> = [];
      /** Each scenario's Postgres backend CPU (ms) since its warm-up; NaN if the backend changed or /proc does not show it. */
      const backendCpu: Array<() => Promise<number>> = [];
      for (const mode of MODES) {
        const pool = await Database.connect({
          url: ns.databaseUrl,
          schema: 'mesh',
          poolSize: 1,
          applicationName: `bench-mesh-statements-${mode.name}`,
          planCacheMode: mode.planCacheMode,
        });
        pools.push(pool);
        const repository = new TaskRepository(pool, { maxBatch: 64, maxInFlight: 1 });
        // As the eager publisher does: every committed row is marked by the next statement.
        repository.onCommitted((rows) => rows.forEach((row) => repository.publishedMarks.add(row.eventId)));
        const backend = async () =>
          (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        let start: { pid: number; cpu: number } | undefined;
        backendCpu.push(async () => {
          const pid = await backend();
          return start && pid === start.pid ? processCpuMs(pid) - start.cpu : Number.NaN;
        });
        scenarios.push({
          name: `mesh-statements.${mode.name}.lanes${lanes}`,
          baseline: mode.name === 'auto' ? undefined : `mesh-statements.auto.lanes${lanes}`,
          concurrency: lanes,
          durationMs: 4_000,
          warmupMs: 1_000,
          afterWarmUp: async () => {
            const pid = await backend();
            start = { pid, cpu: processCpuMs(pid) };
          },
          op: () => lifecycle(repository),
          notes: `plan_cache_mode=${mode.planCacheMode ?? 'auto (Postgres chooses)'}; ${lanes === 1 ? 'one lifecycle at a time' : `${lanes} lifecycles at a time`}; one pooled connection`,
        });
      }
      progress(`  lanes ${lanes}: auto and generic plans, interleaved`);
      const measured = await runComparison(scenarios, { rounds: 4 });
      for (const [i, result] of measured.entries()) {
        const perLifecycleUs = Math.round(((await backendCpu[i]!()) * 1000) / result.ops);
        result.extra = { ...result.extra, pgBackendCpuUsPerLifecycle: perLifecycleUs };
        progress(
          `    ${result.name}: ${result.throughput.toFixed(0)} lifecycles/s, Postgres backend CPU ≈ ${Number.isNaN(perLifecycleUs) ? 'n/a' : `${perLifecycleUs} µs`} per lifecycle`,
        );
        results.push(result);
      }
    }
    return results;
  } finally {
    for (const pool of pools) await pool.close().catch(() => undefined);
    await ns.dispose();
  }
}

/** One lifecycle through the repository: send, working, completed (with keys), as the router writes it. */
async function lifecycle(repository: TaskRepository): Promise<void> {
  const now = new Date();
  const write = taskCreate(
    {
      id: randomUUID(),
      kind: 'task',
      from: { agentId: 'finance-agent', role: 'finance' },
      to: { role: 'worker', agentId: null },
      type: 'bench',
      subject: null,
      input: { n: 1 },
      details: null,
      message: null,
      priority: 'normal',
      contextId: randomUUID(),
      deadline: new Date(now.getTime() + 3_600_000),
      escalateAt: null,
      now,
    },
    'mesh.v1.inbox.role.worker',
  );
  const { task } = await repository.create(write);
  const report = (event: 'start' | 'complete', to: 'working' | 'completed') =>
    repository.apply(
      task.id,
      {
        actor: 'worker-agent',
        idempotency: { operation: 'update-task', actor: 'worker-agent', key: randomUUID(), fingerprint: 'f' },
      },
      (current) =>
        taskWrite(current, 'worker-agent', {
          kind: 'change',
          event,
          to,
          reason: null,
          patch:
            event === 'start'
              ? { assignee: { agentId: 'worker-agent', role: 'worker' } }
              : { result: { ok: true } },
          now: new Date(),
        }),
    );
  await report('start', 'working');
  await report('complete', 'completed');
}
