import type { RetentionJob } from '@orgmesh/persistence';
import { JobTimers, type Logger } from '@orgmesh/telemetry';
import type { SessionService } from './session.service.js';
import type { SessionRepository } from './session.repository.js';
import type { SessionMetrics } from './session.metrics.js';

/**
 * The idle sweeper and the retention job (session.retention.ts: what it deletes; RetentionJob:
 * how, in batches that each take the job's lock). Each tick runs only on the replica that wins the job's
 * Postgres advisory lock, so any number of replicas may run this safely.
 */
export class SessionJobs {
  private readonly timers: JobTimers;

  constructor(
    private readonly service: SessionService,
    private readonly repository: SessionRepository,
    private readonly metrics: SessionMetrics,
    private readonly logger: Logger,
    private readonly retention: RetentionJob,
    private readonly options: { idleTimeoutMs: number; sweepIntervalMs: number; retentionIntervalMs: number },
  ) {
    this.timers = new JobTimers({
      logger,
      failureMessage: 'session job failed',
      onFailure: (job) => metrics.jobRuns.inc({ job, result: 'failed' }),
    });
  }

  start(): void {
    this.timers.every('idle-sweeper', this.options.sweepIntervalMs, () => this.sweepOnce());
    this.timers.every('retention', this.options.retentionIntervalMs, () => this.retainOnce());
  }

  stop(): Promise<void> {
    // A retention run in progress ends after its current batch instead of holding up the shutdown.
    this.retention.stop();
    return this.timers.stop();
  }

  /** One sweeper tick; returns the number of sessions expired, or undefined when another replica ran it. */
  async sweepOnce(): Promise<number | undefined> {
    const { ran, result } = await this.repository.lockedJob('idle-sweeper', () =>
      this.service.sweepIdle(this.options.idleTimeoutMs),
    );
    this.record('idle-sweeper', ran, result);
    return ran ? result : undefined;
  }

  /**
   * One retention run; returns the number of sessions deleted (their transitions and keys go with
   * them), or undefined when another replica ran it. Idempotency and dedupe records it deleted are
   * in the logs and orgmesh_retention_deleted_rows_total.
   */
  async retainOnce(): Promise<number | undefined> {
    const run = await this.retention.runOnce();
    const sessions = run.deleted['sessions.sessions'] ?? 0;
    this.record('retention', run.ran, sessions);
    if (run.ran && (Object.values(run.deleted).some((n) => n > 0) || run.stoppedEarly))
      this.logger.info(
        { job: 'retention', deleted: run.deleted, batches: run.batches, longestBatchMs: Math.round(run.longestBatchMs), stoppedEarly: run.stoppedEarly },
        'sessions retention finished',
      );
    return run.ran ? sessions : undefined;
  }

  private record(job: string, ran: boolean, affected: number | undefined): void {
    this.metrics.jobRuns.inc({ job, result: ran ? 'ran' : 'skipped' });
    if (ran && affected) {
      this.metrics.jobAffected.inc({ job }, affected);
      this.logger.info({ job, affected }, 'session job finished');
    }
  }
}
