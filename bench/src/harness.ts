import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resourceUsage } from 'node:process';
import { createIsolatedDatabase, deleteStreamsWithSuffix } from '@orgmesh/testing';

/**
 * One measured scenario. `baseline` names another result of the same suite, measured in the
 * same run; run.ts adds the ratios (`ratio`) against it.
 */
export interface BenchResult {
  name: string;
  baseline?: string;
  concurrency: number;
  ops: number;
  errors: number;
  durationMs: number;
  /** Completed operations per second. */
  throughput: number;
  latencyMs: { mean: number; p50: number; p95: number; p99: number; max: number };
  /** Peak resident set size sampled while the scenario ran. */
  peakRssMb: number;
  /** Filled by run.ts: this result divided by its baseline (throughput: higher is better; latency: lower is better). */
  ratio?: { throughput: number; p50: number; p99: number };
  notes?: string;
  extra?: Record<string, number | string>;
}

export interface ScenarioOptions<W> {
  name: string;
  baseline?: string;
  /** Workers issuing operations back to back; default 1. */
  concurrency?: number;
  /** Measure for this long (default 3000 ms, scaled by BENCH_SCALE)… */
  durationMs?: number;
  /** …or for exactly this many operations in total. */
  count?: number;
  /** Unmeasured warm-up before measuring; default 500 ms (scaled). */
  warmupMs?: number;
  /** Called after the warm-up, right before measuring (to start counting a process's CPU, say). */
  afterWarmUp?: () => Promise<void> | void;
  /**
   * Open loop: start operations at this total rate instead of back to back. Latency is then
   * measured from each operation's scheduled start, so a stall shows as latency rather than
   * silently lowering the rate (no coordinated omission).
   */
  ratePerSec?: number;
  /** Per-worker state (a connection, a client). */
  setupWorker?: (index: number) => Promise<W> | W;
  teardownWorker?: (worker: W) => Promise<void> | void;
  /** One operation; a throw counts as an error, not a latency sample. `sequence` is unique within the scenario (warm-up included). */
  op: (worker: W, sequence: number) => Promise<unknown>;
  notes?: string;
  extra?: Record<string, number | string>;
}

/** Unmeasured warm-up of a scenario that sets none (ms, before BENCH_SCALE). */
export const DEFAULT_WARMUP_MS = 500;

/** Multiplies default durations (BENCH_SCALE=0.2 for a quick look, 3 for steadier figures). */
export function benchScale(): number {
  const scale = Number(process.env['BENCH_SCALE'] ?? '1');
  return Number.isFinite(scale) && scale > 0 ? scale : 1;
}

/** Where the benchmark's NATS and Postgres are; each suite isolates itself inside them. */
export function benchEnv(): { natsUrl: string; databaseUrl: string } {
  return {
    natsUrl: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222',
    databaseUrl: process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  };
}

export function benchToken(prefix = 'bench'): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

/** One suite's isolated slice of the shared servers: its own database, subject prefix and stream suffix. */
export interface BenchNamespace {
  /** The random token behind the names, for ids that must be unique to this run. */
  readonly token: string;
  readonly subjectPrefix: string;
  readonly nameSuffix: string;
  readonly databaseUrl: string;
  /** Deletes the namespace's streams and drops its database; run it after everything using them stopped. */
  dispose(): Promise<void>;
}

/** Creates a suite's namespace with the same isolation the tests use (libs/testing). */
export async function benchNamespace(prefix: string): Promise<BenchNamespace> {
  const env = benchEnv();
  const token = benchToken(prefix);
  const db = await createIsolatedDatabase(env.databaseUrl, `om_${token}`);
  const nameSuffix = `_${token.toUpperCase()}`;
  return {
    token,
    subjectPrefix: `${token}.`,
    nameSuffix,
    databaseUrl: db.url,
    async dispose() {
      await deleteStreamsWithSuffix(env.natsUrl, nameSuffix);
      await db.drop();
    },
  };
}

/** Progress lines go to stderr so stdout stays the result table. */
export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Latency histogram with logarithmic buckets 1 % wide (percentiles within 1 %), in constant
 * memory whatever the operation count, so it does not inflate the RSS it helps measure.
 */
export class LatencyHistogram {
  private static readonly GROWTH = Math.log(1.01);
  private readonly buckets = new Map<number, number>();
  count = 0;
  private sum = 0;
  max = 0;
  min = Number.POSITIVE_INFINITY;

  record(ms: number): void {
    const value = Math.max(ms, 0.001);
    const bucket = Math.floor(Math.log(value * 1000) / LatencyHistogram.GROWTH);
    this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + 1);
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
    if (ms < this.min) this.min = ms;
  }

  mean(): number {
    return this.count ? this.sum / this.count : 0;
  }

  /** The value below which `p` percent of samples fall (upper edge of its bucket, capped at max). */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (const bucket of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(bucket) ?? 0;
      if (seen >= rank) return Math.min(this.max, Math.exp((bucket + 1) * LatencyHistogram.GROWTH) / 1000);
    }
    return this.max;
  }
}

/** Samples the process RSS every 20 ms between start() and stop(). */
export class RssSampler {
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    this.peak = process.memoryUsage.rss();
    this.timer = setInterval(() => {
      const rss = process.memoryUsage.rss();
      if (rss > this.peak) this.peak = rss;
    }, 20);
    this.timer.unref();
  }

  stop(): number {
    clearInterval(this.timer);
    const rss = process.memoryUsage.rss();
    return Math.max(this.peak, rss);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function drive<W>(
  workers: W[],
  options: ScenarioOptions<W>,
  limit: { durationMs?: number; count?: number },
  histogram: LatencyHistogram | undefined,
  firstSequence = 0,
): Promise<{ ops: number; errors: number; elapsedMs: number; nextSequence: number; firstError?: unknown }> {
  let next = firstSequence;
  let ops = 0;
  let errors = 0;
  let firstError: unknown;
  const started = performance.now();
  const intervalMs = options.ratePerSec ? 1000 / options.ratePerSec : 0;
  await Promise.all(
    workers.map(async (worker) => {
      for (;;) {
        const sequence = next++;
        const index = sequence - firstSequence;
        if (limit.count !== undefined && index >= limit.count) return;
        const scheduled = started + index * intervalMs;
        if (
          limit.durationMs !== undefined &&
          (intervalMs ? scheduled : performance.now()) - started >= limit.durationMs
        )
          return;
        if (intervalMs) {
          const wait = scheduled - performance.now();
          if (wait > 1) await sleep(wait);
        }
        const t0 = intervalMs ? scheduled : performance.now();
        try {
          await options.op(worker, sequence);
          histogram?.record(performance.now() - t0);
          ops++;
        } catch (error) {
          errors++;
          firstError ??= error;
        }
      }
    }),
  );
  return { ops, errors, elapsedMs: performance.now() - started, nextSequence: next, firstError };
}

/** One scenario's workers and accumulated figures, measured in one or several slices. */
class ScenarioRun<W> {
  readonly histogram = new LatencyHistogram();
  private workers: W[] = [];
  private nextSequence = 0;
  private ops = 0;
  private errors = 0;
  private elapsedMs = 0;
  private peakRss = 0;
  private firstError: unknown;
  readonly concurrency: number;

  constructor(readonly options: ScenarioOptions<W>) {
    this.concurrency = Math.max(1, options.concurrency ?? 1);
  }

  async setup(): Promise<void> {
    for (let i = 0; i < this.concurrency; i++) {
      this.workers.push(this.options.setupWorker ? await this.options.setupWorker(i) : (undefined as W));
    }
  }

  async warmUp(ms: number): Promise<void> {
    if (ms <= 0) return;
    // Sequence numbers continue after the warm-up, so operations keyed by them (message ids) stay unique.
    const outcome = await drive(
      this.workers,
      { ...this.options, ratePerSec: undefined },
      { durationMs: ms },
      undefined,
      this.nextSequence,
    );
    this.nextSequence = outcome.nextSequence;
  }

  async measure(limit: { durationMs?: number; count?: number }): Promise<void> {
    const rss = new RssSampler();
    rss.start();
    const outcome = await drive(this.workers, this.options, limit, this.histogram, this.nextSequence);
    this.peakRss = Math.max(this.peakRss, rss.stop());
    this.nextSequence = outcome.nextSequence;
    this.ops += outcome.ops;
    this.errors += outcome.errors;
    this.elapsedMs += outcome.elapsedMs;
    this.firstError ??= outcome.firstError;
  }

  async teardown(): Promise<void> {
    if (this.options.teardownWorker)
      for (const worker of this.workers) await this.options.teardownWorker(worker);
    this.workers = [];
  }

  result(): BenchResult {
    const { options, histogram } = this;
    if (this.errors > 0) {
      const reason = this.firstError instanceof Error ? this.firstError.message : String(this.firstError);
      progress(`    ! ${options.name}: ${this.errors} failed operations (first: ${reason})`);
    }
    const result: BenchResult = {
      name: options.name,
      ...(options.baseline ? { baseline: options.baseline } : {}),
      concurrency: this.concurrency,
      ops: this.ops,
      errors: this.errors,
      durationMs: round(this.elapsedMs),
      throughput: round(this.elapsedMs > 0 ? (this.ops / this.elapsedMs) * 1000 : 0),
      latencyMs: {
        mean: round(histogram.mean(), 3),
        p50: round(histogram.percentile(50), 3),
        p95: round(histogram.percentile(95), 3),
        p99: round(histogram.percentile(99), 3),
        max: round(histogram.max, 3),
      },
      peakRssMb: round(this.peakRss / 1_048_576, 1),
      ...(options.notes ? { notes: options.notes } : {}),
      ...(options.extra ? { extra: options.extra } : {}),
    };
    progress(
      `    ✓ ${result.name} (c=${this.concurrency}): ${result.throughput} ops/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms`,
    );
    return result;
  }
}

/** Runs one scenario: warm-up, then measurement with `concurrency` workers; returns its figures. */
export async function runScenario<W = undefined>(options: ScenarioOptions<W>): Promise<BenchResult> {
  const [result] = await runComparison([options as ScenarioOptions<unknown>], { rounds: 1 });
  return result as BenchResult;
}

/**
 * Runs scenarios that are compared with each other (a subject and its baseline) in interleaved
 * rounds: each gets `rounds` slices of its duration, alternating, so load changes on a shared
 * machine hit both alike and the ratio stays meaningful. Every other round runs them in reverse
 * order (A B, B A, A B, …): in a fixed order the second scenario of every round paid for what the
 * first left behind (its garbage, a colder cache): with one open nats-server on both sides, the
 * second measured 0–4 % slower in three runs. Count-limited scenarios run in one slice.
 */
export async function runComparison(
  scenarios: Array<ScenarioOptions<unknown>>,
  options: { rounds?: number } = {},
): Promise<BenchResult[]> {
  const scale = benchScale();
  const rounds = Math.max(1, options.rounds ?? 3);
  const runs = scenarios.map((scenario) => new ScenarioRun(scenario));
  try {
    for (const run of runs) {
      await run.setup();
      await run.warmUp((run.options.warmupMs ?? DEFAULT_WARMUP_MS) * scale);
      await run.options.afterWarmUp?.();
    }
    for (let round = 0; round < rounds; round++) {
      for (const run of round % 2 === 0 ? runs : [...runs].reverse()) {
        if (run.options.count !== undefined) {
          if (round === 0) await run.measure({ count: run.options.count });
        } else {
          await run.measure({ durationMs: ((run.options.durationMs ?? 3_000) * scale) / rounds });
        }
      }
    }
    return runs.map((run) => run.result());
  } finally {
    for (const run of runs) await run.teardown();
  }
}

/** Adds `ratio` to every result that names a baseline present in the same list. */
export function withRatios(results: BenchResult[]): BenchResult[] {
  const byName = new Map(results.map((r) => [r.name, r]));
  return results.map((result) => {
    const base = result.baseline ? byName.get(result.baseline) : undefined;
    if (!base) return result;
    return {
      ...result,
      ratio: {
        throughput: round(result.throughput / (base.throughput || Number.NaN), 3),
        p50: round(result.latencyMs.p50 / (base.latencyMs.p50 || Number.NaN), 3),
        p99: round(result.latencyMs.p99 / (base.latencyMs.p99 || Number.NaN), 3),
      },
    };
  });
}

/**
 * User plus system CPU time a process (this machine's) has used so far, in ms, from
 * /proc/<pid>/stat (clock ticks of 10 ms: USER_HZ is 100 on Linux); NaN where that is not there.
 */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** The process's lifetime peak RSS (kernel accounting), in MB. */
export function processMaxRssMb(): number {
  return round(resourceUsage().maxRSS / 1024, 1);
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
