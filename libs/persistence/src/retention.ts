import type { Registry } from 'prom-client';
import { counterSeries, declareSeries, histogramSeries, oncePerRegistry } from '@orgmesh/telemetry';
import type { Database, Sql } from './database.js';
import { pgErrorCode } from './database.js';

/**
 * One table a retention job prunes: the rows whose `ageColumn` is older than `maxAgeMs` (and that
 * match `where`, if given) go, oldest first. The table needs a btree index whose leading column
 * is `ageColumn` and whose predicate (for a partial index) is `where`, so that each batch reads
 * `batchSize` index entries and never the table: the plan tests and the retention bench check it.
 */
export interface RetentionTarget {
  /** The label of its metrics and logs, e.g. `mesh.tasks`. */
  name: string;
  /** Schema-qualified table, e.g. `mesh.tasks`. */
  table: string;
  ageColumn: string;
  /** Extra condition of the rows that may go (a constant SQL predicate, no parameters). */
  where?: string;
  /** Rows older than this go; 0 or less turns this target off. */
  maxAgeMs: number;
}

export interface RetentionOptions {
  /** The advisory lock of the job; replicas share it, so one deletes at a time. */
  lockKey: string;
  targets: RetentionTarget[];
  /** Rows per DELETE (each its own short transaction); default 1000. */
  batchSize?: number;
  /** Upper bound of batches per target in one run (the next run goes on); default 10 000. */
  maxBatchesPerRun?: number;
  /** Longest a batch may wait for a row or table lock before the run stops (the next run retries); default 2000 ms. */
  lockTimeoutMs?: number;
  /**
   * Rest between two batches of a run, holding no lock; default 0. Back-to-back batches compete with
   * the live writes for the database's CPU and disk (the retention bench measures it); a pause
   * bounds the job's share while a backlog is worked off.
   */
  pauseMs?: number;
  /** `orgmesh_retention_*` series go here when given. */
  metrics?: Registry;
  /**
   * The clock the cutoffs are taken from. Default: the database's `now()`. A service whose rows
   * carry its own clock's timestamps (tasks' `updated_at`, sessions' `last_transition_at`) passes
   * that clock, so that its tests' manual clock ages the rows it wrote.
   */
  now?: () => Date;
}

export interface RetentionRun {
  /** False when another replica held the lock at the first batch: this run deleted nothing. */
  ran: boolean;
  /** Rows deleted per target name (the rows removed with them by ON DELETE CASCADE not counted). */
  deleted: Record<string, number>;
  batches: number;
  /** The slowest batch of the run, i.e. the longest any row lock of this job was held. */
  longestBatchMs: number;
  /** Why the run ended before every target was done: another replica took the lock, a lock wait timed out, stop(), the batch cap. */
  stoppedEarly?: 'lock-taken' | 'lock-timeout' | 'stopped' | 'batch-cap';
}

/** Thrown to roll back an EXPLAIN ANALYZE of a DELETE. */
class RolledBack extends Error {}

const IDENTIFIER = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;

/**
 * The statement of one batch: `$1` the cutoff (timestamptz), `$2` the batch size. The inner
 * SELECT walks the age index in order and stops after `$2` entries; the DELETE then visits those
 * tuples by their ctid (a Tid Scan). `= ANY(ARRAY(…))` rather than `IN (SELECT …)`: the planner
 * may answer an IN with a hash semi-join over the whole table.
 */
export function retentionBatchStatement(
  target: Pick<RetentionTarget, 'table' | 'ageColumn' | 'where'>,
): string {
  if (!IDENTIFIER.test(target.table) || !IDENTIFIER.test(target.ageColumn))
    throw new Error(`invalid retention table or column: ${target.table}.${target.ageColumn}`);
  const where = target.where ? ` AND (${target.where})` : '';
  return `DELETE FROM ${target.table} WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM ${target.table} WHERE ${target.ageColumn} < $1::timestamptz${where}
             ORDER BY ${target.ageColumn} LIMIT $2))`;
}

const RETENTION_SERIES = {
  deleted: counterSeries(
    'orgmesh_retention_deleted_rows_total',
    'rows deleted by retention jobs, by table (rows removed with them by ON DELETE CASCADE not counted)',
    { labels: ['table'] },
  ),
  batchSeconds: histogramSeries(
    'orgmesh_retention_batch_duration_seconds',
    'time of one retention batch (one DELETE transaction, so the longest its row locks are held), by table',
    { labels: ['table'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] },
  ),
};

/** The retention series of `registry` (every retention job of a service shares them). */
const retentionMetricsOf = oncePerRegistry((registry) => declareSeries(registry, RETENTION_SERIES));

/**
 * Deletes what has outlived its retention, table by table, in bounded batches. Each batch is its
 * own transaction that first takes the job's advisory lock (`pg_try_advisory_xact_lock`): one
 * replica deletes at a time, no lock is held between batches, and a row lock lives only as long
 * as one batch. A run that dies (process killed, database restarted) loses at most its current
 * batch, which rolls back whole; what was committed is consistent on its own (a task goes in the
 * same statement as its events, by ON DELETE CASCADE), and the next run resumes from the oldest
 * row left, since it selects by the same predicate.
 */
export class RetentionJob {
  private readonly batchSize: number;
  private readonly maxBatches: number;
  private readonly lockTimeoutMs: number;
  private readonly statements: Array<{ target: RetentionTarget; text: string }>;
  private stopping = false;

  constructor(
    private readonly db: Pick<Database, 'transaction' | 'query'>,
    private readonly options: RetentionOptions,
  ) {
    this.batchSize = options.batchSize ?? 1000;
    this.maxBatches = options.maxBatchesPerRun ?? 10_000;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 2_000;
    if (this.batchSize < 1 || this.maxBatches < 1)
      throw new Error('retention batch size and cap must be positive');
    this.statements = options.targets.map((target) => ({ target, text: retentionBatchStatement(target) }));
  }

  /** Ends a run in progress after its current batch (service shutdown). */
  stop(): void {
    this.stopping = true;
  }

  async runOnce(): Promise<RetentionRun> {
    const run: RetentionRun = { ran: false, deleted: {}, batches: 0, longestBatchMs: 0 };
    for (const { target, text } of this.statements) {
      if (target.maxAgeMs <= 0) continue;
      run.deleted[target.name] ??= 0;
      // One cutoff per run and target: a batch never chases rows that aged meanwhile.
      const cutoff = await this.cutoff(target.maxAgeMs);
      for (let batch = 0; ; batch++) {
        if (this.stopping) return { ...run, stoppedEarly: 'stopped' };
        if (batch >= this.maxBatches) return { ...run, stoppedEarly: 'batch-cap' };
        const started = performance.now();
        let outcome: number | 'lock-taken' | 'lock-timeout';
        try {
          outcome = await this.db.transaction((tx) => this.batch(tx, text, cutoff));
        } catch (error) {
          // 55P03 lock_not_available: a row or the table is locked by someone else; do not queue behind it.
          if (pgErrorCode(error) !== '55P03') throw error;
          outcome = 'lock-timeout';
        }
        if (outcome === 'lock-taken') {
          // First batch of the run: another replica is running this job. Later: it took over.
          return run.batches === 0 ? run : { ...run, stoppedEarly: 'lock-taken' };
        }
        if (outcome === 'lock-timeout') return { ...run, ran: true, stoppedEarly: 'lock-timeout' };
        const ms = performance.now() - started;
        run.ran = true;
        run.batches++;
        run.longestBatchMs = Math.max(run.longestBatchMs, ms);
        run.deleted[target.name] = (run.deleted[target.name] ?? 0) + outcome;
        // Registered with the first batch, not at start: a series is declared when it has a sample.
        const metrics = this.options.metrics ? retentionMetricsOf(this.options.metrics) : undefined;
        metrics?.batchSeconds.observe({ table: target.name }, ms / 1000);
        metrics?.deleted.inc({ table: target.name }, outcome);
        if (outcome < this.batchSize) break;
        if (this.options.pauseMs) await new Promise((resolve) => setTimeout(resolve, this.options.pauseMs));
      }
    }
    run.ran = true;
    return run;
  }

  /**
   * The plan of one batch of `targetName` as it would run now (EXPLAIN, not executed unless
   * `analyze`, which runs the DELETE in a transaction it rolls back). The plan tests and the bench
   * check that it reads the age index and no Seq Scan.
   */
  async explain(targetName: string, options: { analyze?: boolean } = {}): Promise<string> {
    const found = this.statements.find((s) => s.target.name === targetName);
    if (!found) throw new Error(`no retention target ${targetName}`);
    const explain = options.analyze ? 'EXPLAIN (ANALYZE, BUFFERS, TIMING OFF)' : 'EXPLAIN';
    const cutoff = await this.cutoff(found.target.maxAgeMs);
    const run = async (sql: Pick<Sql, 'query'>) => {
      const { rows } = await sql.query<{ 'QUERY PLAN': string }>(`${explain} ${found.text}`, [
        cutoff,
        this.batchSize,
      ]);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    };
    if (!options.analyze) return run(this.db);
    let plan = '';
    await this.db
      .transaction(async (tx) => {
        plan = await run(tx);
        throw new RolledBack();
      })
      .catch((error: unknown) => {
        if (!(error instanceof RolledBack)) throw error;
      });
    return plan;
  }

  private async cutoff(maxAgeMs: number): Promise<Date> {
    if (this.options.now) return new Date(this.options.now().getTime() - maxAgeMs);
    const { rows } = await this.db.query<{ cutoff: Date }>(
      `SELECT now() - ($1::bigint * interval '1 millisecond') AS cutoff`,
      [maxAgeMs],
    );
    return rows[0]!.cutoff;
  }

  private async batch(tx: Sql, text: string, cutoff: Date): Promise<number | 'lock-taken'> {
    const { rows } = await tx.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked',
      [this.options.lockKey],
    );
    if (!rows[0]?.locked) return 'lock-taken';
    // SET LOCAL takes no parameters; the value is a number we formatted.
    await tx.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(this.lockTimeoutMs))}`);
    const { rowCount } = await tx.query(text, [cutoff, this.batchSize]);
    return rowCount;
  }
}
