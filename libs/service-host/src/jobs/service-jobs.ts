import type { RetentionJob, RetentionRun } from '@orgmesh/persistence';
import { JobTimers, type Logger } from '@orgmesh/telemetry';
import type { Counter } from 'prom-client';

export interface ServiceJobsOptions {
  logger: Logger;
  /** The service's `orgmesh_<service>_job_runs_total` (labels job, result: ran, skipped, failed). */
  jobRuns: Counter<'job' | 'result'>;
  /** The service's retention job (what it deletes is the service's; how is RetentionJob's). */
  retention: RetentionJob;
  /** Constant log message of a failed tick, e.g. `mesh job failed`. */
  failureMessage: string;
  /** Constant log message of a retention run that deleted rows or stopped early. */
  retentionMessage: string;
}

/**
 * What the background jobs of the stateful services (registry, sessions, mesh-router) have in
 * common: interval timers that count a failed tick, the retention run with its count and log
 * line, and a shutdown that lets a retention run end after its current batch. The services keep
 * their own ticks (what a presence sweep or a deadline run does, and what it counts) and call
 * `recordRun` with whether they won the job's advisory lock.
 */
export class ServiceJobs {
  private readonly timers: JobTimers;

  constructor(private readonly options: ServiceJobsOptions) {
    this.timers = new JobTimers({
      logger: options.logger,
      failureMessage: options.failureMessage,
      onFailure: (job) => options.jobRuns.inc({ job, result: 'failed' }),
    });
  }

  every(job: string, intervalMs: number, tick: () => Promise<unknown>): void {
    this.timers.every(job, intervalMs, tick);
  }

  /** Counts one run of `job`: ran, or skipped because another replica held its lock. */
  recordRun(job: string, ran: boolean): void {
    this.options.jobRuns.inc({ job, result: ran ? 'ran' : 'skipped' });
  }

  /** One retention run; undefined when another replica ran it. */
  async retainOnce(): Promise<RetentionRun | undefined> {
    const run = await this.options.retention.runOnce();
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
        this.options.retentionMessage,
      );
    return run;
  }

  stop(): Promise<void> {
    // A retention run in progress ends after its current batch instead of holding up the shutdown.
    this.options.retention.stop();
    return this.timers.stop();
  }
}
