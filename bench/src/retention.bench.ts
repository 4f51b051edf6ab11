import { runMigrations } from '@orgmesh/migrations';
import { Database, RetentionJob, type RetentionTarget } from '@orgmesh/persistence';
import { benchNamespace, progress, runComparison, type BenchResult } from './harness.js';

/**
 * Retention on large tables (issue 21): the RetentionJob batch (ctid batch chosen by the age index,
 * its own transaction under the job's advisory lock) against a plain `DELETE … LIMIT` by primary
 * key on the same data, the cheapest bounded delete there is. Two tables of ROWS rows each:
 * - mesh.tasks, each task with one history row (the cascade deletes it in the same statement),
 *   half of them terminal and 60+ days old, the rest open or recent;
 * - mesh.processed_events, half of them older than the retention.
 * Before measuring, the plan of each retention batch is checked: its age index, a Tid Scan, no
 * Seq Scan (the suite fails otherwise). One operation is one batch of BATCH rows, so ops/s × BATCH
 * is rows deleted per second and the max latency is the longest a batch held its row locks.
 */

const ROWS = Number(process.env['RETENTION_BENCH_ROWS'] ?? 1_000_000);
const BATCH = 1_000;
/** Batches measured per scenario: a tenth of the old rows, so every batch still finds a full batch. */
const BATCHES = Math.max(10, Math.floor(ROWS / 2 / BATCH / 5));
const DAY = 86_400_000;
/** Task creates measured alone and alongside retention. */
const WRITES = 500;

const TASKS: RetentionTarget = {
  name: 'mesh.tasks',
  table: 'mesh.tasks',
  ageColumn: 'updated_at',
  where: `state IN ('completed','failed','canceled','rejected')`,
  maxAgeMs: 30 * DAY,
};
const DEDUPE: RetentionTarget = {
  name: 'mesh.processed_events',
  table: 'mesh.processed_events',
  ageColumn: 'processed_at',
  maxAgeMs: 8 * DAY,
};

async function seed(db: Database): Promise<void> {
  const chunk = 250_000;
  for (let from = 1; from <= ROWS; from += chunk) {
    const to = Math.min(ROWS, from + chunk - 1);
    progress(`retention: seeding tasks ${from}…${to} of ${ROWS}`);
    // Each task with its history row, in one statement.
    await db.query(
      `WITH t AS (
         INSERT INTO mesh.tasks (id, kind, from_agent_id, from_role, to_role, priority, state, context_id,
                                 deadline, version, created_at, updated_at)
         SELECT gen_random_uuid(), 'task', 'agent-' || (i % 500), 'finance', 'legal', 'normal',
                CASE WHEN i % 2 = 0 OR i % 4 = 3 THEN 'completed' ELSE 'working' END,
                'ctx-' || (i % 10000), now() + interval '1 hour', 2, now() - interval '100 days',
                CASE WHEN i % 2 = 0 THEN now() - interval '60 days' - (i % 100000) * interval '1 second'
                     ELSE now() - (i % 20) * interval '1 day' END
           FROM generate_series($1::int, $2::int) i
         RETURNING id, state, updated_at)
       INSERT INTO mesh.task_events (task_id, event, from_state, to_state, actor, occurred_at)
       SELECT id, 'complete', 'working', state, 'agent', updated_at FROM t`,
      [from, to],
    );
    await db.query(
      `INSERT INTO mesh.processed_events (consumer, event_id, processed_at)
       SELECT 'mesh-follow', 'event-' || i,
              CASE WHEN i % 2 = 0 THEN now() - interval '20 days' - (i % 100000) * interval '1 second'
                   ELSE now() - (i % 7) * interval '1 day' END
         FROM generate_series($1::int, $2::int) i`,
      [from, to],
    );
  }
  progress('retention: analysing');
  for (const table of ['tasks', 'task_events', 'processed_events']) await db.query(`VACUUM ANALYZE mesh.${table}`);
}

/** The plan of one batch; throws unless it reads `index` and no table sequentially. */
async function checkedPlan(job: RetentionJob, target: RetentionTarget, index: string): Promise<string> {
  const plan = await job.explain(target.name);
  if (!plan.includes(index) || !/Tid Scan/.test(plan) || /Seq Scan/.test(plan))
    throw new Error(`retention batch of ${target.name} is not planned on ${index}:\n${plan}`);
  return plan;
}

async function count(db: Database, sql: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(sql);
  return rows[0]!.n;
}

export async function run(): Promise<BenchResult[]> {
  const ns = await benchNamespace('retention');
  await runMigrations({ url: ns.databaseUrl, service: 'mesh' });
  const db = await Database.connect({ url: ns.databaseUrl, schema: 'mesh', poolSize: 4 });
  try {
    await seed(db);
    const before = {
      tasks: await count(db, `SELECT count(*)::int AS n FROM mesh.tasks`),
      events: await count(db, `SELECT count(*)::int AS n FROM mesh.task_events`),
      dedupe: await count(db, `SELECT count(*)::int AS n FROM mesh.processed_events`),
    };
    progress(`retention: ${JSON.stringify(before)} rows; ${BATCHES} batches of ${BATCH} per scenario`);
    const jobOf = (target: RetentionTarget) =>
      new RetentionJob(db, { lockKey: `bench-retention-${target.name}`, targets: [target], batchSize: BATCH, maxBatchesPerRun: 1 });
    const tasksJob = jobOf(TASKS);
    const dedupeJob = jobOf(DEDUPE);
    const tasksPlan = await checkedPlan(tasksJob, TASKS, 'tasks_terminal_updated_idx');
    const dedupePlan = await checkedPlan(dedupeJob, DEDUPE, 'processed_events_processed_at_idx');
    progress(`retention: mesh.tasks batch plan:\n${tasksPlan}\nretention: processed_events batch plan:\n${dedupePlan}`);

    let deleted = { tasks: 0, dedupe: 0 };
    const batchOf = (job: RetentionJob, key: 'tasks' | 'dedupe') => async () => {
      const result = await job.runOnce();
      const n = Object.values(result.deleted)[0] ?? 0;
      if (n !== BATCH) throw new Error(`a batch deleted ${n} rows, not ${BATCH}`);
      deleted = { ...deleted, [key]: deleted[key] + n };
    };
    // The baseline: the same batch shape and size, chosen by the primary key in key order, no age predicate.
    const byKey = (sql: string) => async () => {
      const { rowCount } = await db.query(sql, [BATCH]);
      if (rowCount !== BATCH) throw new Error(`a baseline batch deleted ${rowCount} rows`);
    };
    const results = await runComparison(
      [
        {
          name: 'tasks: plain DELETE … LIMIT by primary key (baseline)',
          count: BATCHES,
          warmupMs: 0,
          op: byKey(
            `DELETE FROM mesh.tasks WHERE ctid = ANY(ARRAY(SELECT ctid FROM mesh.tasks ORDER BY id LIMIT $1))`,
          ),
        },
        {
          name: 'tasks: retention batch (terminal, by age index, + history cascade)',
          baseline: 'tasks: plain DELETE … LIMIT by primary key (baseline)',
          count: BATCHES,
          warmupMs: 0,
          op: batchOf(tasksJob, 'tasks'),
        },
        {
          name: 'processed_events: plain DELETE … LIMIT by primary key (baseline)',
          count: BATCHES,
          warmupMs: 0,
          op: byKey(
            `DELETE FROM mesh.processed_events WHERE ctid = ANY(ARRAY(
               SELECT ctid FROM mesh.processed_events ORDER BY consumer, event_id LIMIT $1))`,
          ),
        },
        {
          name: 'processed_events: retention batch (by age index)',
          baseline: 'processed_events: plain DELETE … LIMIT by primary key (baseline)',
          count: BATCHES,
          warmupMs: 0,
          op: batchOf(dedupeJob, 'dedupe'),
        },
      ],
      { rounds: 1 },
    );
    // What the live traffic feels: a task create (row and history, one statement) alone, then while
    // retention batches run back to back on the same table. A batch holds row locks on old terminal
    // tasks only, which no write touches, so what shows here is I/O and CPU contention, not waiting.
    const create = async () => {
      await db.query(
        `WITH t AS (
           INSERT INTO mesh.tasks (id, kind, from_agent_id, from_role, to_role, priority, state, context_id,
                                   deadline, version, created_at, updated_at)
           VALUES (gen_random_uuid(), 'task', 'writer', 'finance', 'legal', 'normal', 'submitted', 'ctx-live',
                   now() + interval '1 hour', 1, now(), now())
           RETURNING id)
         INSERT INTO mesh.task_events (task_id, event, to_state, actor, occurred_at)
         SELECT id, 'create', 'submitted', 'writer', now() FROM t`,
      );
    };
    /** Creates measured while retention batches run in the background, `pauseMs` apart. */
    const alongside = async (name: string, pauseMs: number) => {
      const background = { stop: false, running: undefined as Promise<void> | undefined, batches: 0 };
      const [result] = await runComparison([
        {
          name,
          baseline: 'task creates alone (baseline)',
          count: WRITES,
          warmupMs: 500,
          op: async () => {
            background.running ??= (async () => {
              while (!background.stop) {
                const batch = await tasksJob.runOnce();
                if (batch.deleted['mesh.tasks']) background.batches++;
                if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
              }
            })();
            await create();
          },
          teardownWorker: async () => {
            background.stop = true;
            await background.running;
          },
        },
      ]);
      progress(`retention: ${background.batches} retention batches ran alongside "${name}"`);
      return result!;
    };
    // Separate runs, not one comparison: a comparison warms every scenario up before measuring any,
    // and the background batches must not run while the baseline is measured.
    const writers = [
      ...(await runComparison([{ name: 'task creates alone (baseline)', count: WRITES, warmupMs: 500, op: create }])),
      await alongside('task creates while retention batches run back to back', 0),
      await alongside('task creates while retention batches run 50 ms apart (the default pause)', 50),
    ];
    results.push(...writers);
    // No task lost part of its history: the cascade went with every deleted task.
    const orphans = await count(
      db,
      `SELECT count(*)::int AS n FROM mesh.tasks t WHERE NOT EXISTS (SELECT 1 FROM mesh.task_events e WHERE e.task_id = t.id)`,
    );
    if (orphans !== 0) throw new Error(`${orphans} tasks lost their history`);
    for (const r of results.filter((x) => !x.name.startsWith('task creates')))
      progress(
        `retention: ${r.name}: ${Math.round(r.throughput * BATCH).toLocaleString('en-US')} rows/s, ` +
          `batch p50 ${r.latencyMs.p50.toFixed(1)} ms, longest batch (row locks held) ${r.latencyMs.max.toFixed(1)} ms`,
      );
    for (const r of writers)
      progress(
        `retention: ${r.name}: p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, max ${r.latencyMs.max.toFixed(1)} ms`,
      );
    return results.map((r) => (r.name.startsWith('task creates') ? r : {
      ...r,
      notes: `1 op = 1 batch of ${BATCH} rows of a ${ROWS.toLocaleString('en-US')}-row table; rows/s = ops/s × ${BATCH}`,
      extra: {
        rowsPerSecond: Math.round(r.throughput * BATCH),
        longestBatchMs: Math.round(r.latencyMs.max * 10) / 10,
        ...(r.name.startsWith('tasks: retention')
          ? { deleted: deleted.tasks, plan: 'tasks_terminal_updated_idx → Tid Scan, no Seq Scan' }
          : r.name.startsWith('processed_events: retention')
            ? { deleted: deleted.dedupe, plan: 'processed_events_processed_at_idx → Tid Scan, no Seq Scan' }
            : {}),
      },
    }));
  } finally {
    await db.close();
    await ns.dispose();
  }
}
