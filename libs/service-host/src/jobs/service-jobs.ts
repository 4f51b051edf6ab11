import type { RetentionJob, RetentionRun } from '@orgmesh/persistence';
import { JobTimers, type Logger } from '@orgmesh/telemetry';
import type { Counter } from 'prom-client';
import type { StartableJobs } from '../service-host.js';

/** One background job as its service declares it: `start` schedules it, tests call `run` by hand. */
export interface JobDefinition {
  /** The `job` label of its runs and the name its failed ticks are logged under. */
  name: string;
  intervalMs: number;
  /** One run: the service's own work, which counts itself with `recordRun`. */
  run: () => Promise<unknown>;
  /** Run once at start, then every interval (see `everyFromNow`); default: first run after one interval. */
  fromStart?: boolean;
}

export interface ServiceJobsOptions {
  logger: Logger;
  /** The service's `orgmesh_<service>_job_runs_total` (labels job, result: ran, skipped, failed). */
  jobRuns: Counter<'job' | 'result'>;
  /** Constant log message of a failed tick, e.g. `mesh job failed`. */
  failureMessage: string;
  /**
   * The service's retention job (what it deletes is the service's; how is RetentionJob's) and the
   * constant log message of a run that deleted rows or stopped early; a set of jobs without
   * retention (the mesh's approval sweep, its re-delivery) has none.
   */
  retention?: { job: RetentionJob; message: string };
}

/** What every stateful service gives its jobs: its logger, its metrics (their job-runs counter), its retention job. */
export interface ServiceJobParts<Metrics extends { jobRuns: ServiceJobsOptions['jobRuns'] }> {
  metrics: Metrics;
  logger: Logger;
  retention: RetentionJob;
}

/**
 * What the background jobs of the stateful services (registry, sessions, mesh-router) have in
 * common: interval timers that count a failed tick, the retention run with its count and log
 * line, and a shutdown that lets a retention run end after its current batch. The services keep
 * their own ticks (what a presence sweep or a deadline run does, and what it counts) and call
 * `recordRun` with whether they won the job's advisory lock.
 */
export class ServiceJobs implements StartableJobs {
  private readonly timers: JobTimers;
  private readonly firstTicks: Promise<unknown>[] = [];
  private readonly scheduled: JobDefinition[] = [];

  constructor(private readonly options: ServiceJobsOptions) {
    this.timers = new JobTimers({
      logger: options.logger,
      failureMessage: options.failureMessage,
      onFailure: (job) => options.jobRuns.inc({ job, result: 'failed' }),
    });
  }

  /** A stateful service's jobs over its `parts`, with its constant log lines of a failed tick and a retention run. */
  static withRetention(
    parts: ServiceJobParts<{ jobRuns: ServiceJobsOptions['jobRuns'] }>,
    messages: { failure: string; retention: string },
  ): ServiceJobs {
    return new ServiceJobs({
      logger: parts.logger,
      jobRuns: parts.metrics.jobRuns,
      failureMessage: messages.failure,
      retention: { job: parts.retention, message: messages.retention },
    });
  }

  /**
   * Declares the jobs `start` schedules. A service declares them once its runs exist (they count
   * themselves on this instance), so this comes after the constructor.
   */
  schedule(...jobs: JobDefinition[]): this {
    this.scheduled.push(...jobs);
    return this;
  }

  /** Starts the declared jobs' timers (not called when tests run the ticks by hand). */
  start(): void {
    for (const job of this.scheduled) {
      if (job.fromStart) this.everyFromNow(job.name, job.intervalMs, job.run);
      else this.every(job.name, job.intervalMs, job.run);
    }
  }

  every(job: string, intervalMs: number, tick: () => Promise<unknown>): void {
    this.timers.every(job, intervalMs, tick);
  }

  /**
   * Like `every`, but the first tick runs now rather than after one interval: for work whose due
   * rows are in Postgres (deadlines that passed while no replica ran are honoured at start). A
   * failed first tick is counted and logged as a failed tick is.
   */
  everyFromNow(job: string, intervalMs: number, tick: () => Promise<unknown>): void {
    this.firstTicks.push(
      tick().catch((error: unknown) => {
        this.options.jobRuns.inc({ job, result: 'failed' });
        this.options.logger.warn(
          {
            job,
            err:
              error instanceof Error
                ? { name: error.name, code: (error as { code?: string }).code }
                : undefined,
          },
          this.options.failureMessage,
        );
      }),
    );
    this.timers.every(job, intervalMs, tick);
  }

  /** Counts one run of `job`: ran, or skipped because another replica held its lock. */
  recordRun(job: string, ran: boolean): void {
    this.options.jobRuns.inc({ job, result: ran ? 'ran' : 'skipped' });
  }

  /** One retention run; undefined when another replica ran it. */
  async retainOnce(): Promise<RetentionRun | undefined> {
    const retention = this.options.retention;
    if (!retention) throw new Error('these jobs have no retention job');
    const run = await retention.job.runOnce();
    this.recordRun('retention', run.ran);
    if (!run.ran) return undefined;
    if (Object.values(run.deleted).some((n) => n > 0) || run.stoppedEarly)
      this.options.logger.info(
        {
          job: 'retention',
          deleted: run.deleted,
          batches: run.batches,
          longestBatchMs: Math.round(run.longestBatchMs),
          stoppedEarly: run.stoppedEarly,
        },
        retention.message,
      );
    return run;
  }

  async stop(): Promise<void> {
    // A retention run in progress ends after its current batch instead of holding up the shutdown.
    this.options.retention?.job.stop();
    await Promise.allSettled(this.firstTicks);
    await this.timers.stop();
  }
}
