import type { RetentionJob } from '@orgmesh/persistence';
import { ServiceJobs } from '@orgmesh/service-host';
import type { Logger } from '@orgmesh/telemetry';
import type { SessionService } from './session.service.js';
import type { SessionRepository } from './session.repository.js';
import type { SessionMetrics } from './session.metrics.js';

/**
 * The idle sweeper and the retention job (session.retention.ts: what it deletes; RetentionJob:
 * how, in batches that each take the job's lock). Each tick runs only on the replica that wins the job's
 * Postgres advisory lock, so any number of replicas may run this safely.
 */
export class SessionJobs {
  private readonly jobs: ServiceJobs;

  constructor(
    private readonly service: SessionService,
    private readonly repository: SessionRepository,
    private readonly metrics: SessionMetrics,
    private readonly logger: Logger,
    retention: RetentionJob,
    private readonly options: { idleTimeoutMs: number; sweepIntervalMs: number; retentionIntervalMs: number },
  ) {
    this.jobs = new ServiceJobs({
      logger,
      jobRuns: metrics.jobRuns,
      failureMessage: 'session job failed',
      retention: { job: retention, message: 'sessions retention finished' },
    });
  }

  start(): void {
    this.jobs.every('idle-sweeper', this.options.sweepIntervalMs, () => this.sweepOnce());
    this.jobs.every('retention', this.options.retentionIntervalMs, () => this.retainOnce());
  }

  stop(): Promise<void> {
    return this.jobs.stop();
  }

  /** One sweeper tick; returns the number of sessions expired, or undefined when another replica ran it. */
  async sweepOnce(): Promise<number | undefined> {
    const { ran, result } = await this.repository.lockedJob('idle-sweeper', () =>
      this.service.sweepIdle(this.options.idleTimeoutMs),
    );
    this.jobs.recordRun('idle-sweeper', ran);
    if (ran) this.recordAffected('idle-sweeper', result);
    return ran ? result : undefined;
  }

  /**
   * One retention run; returns the number of sessions deleted (their transitions and keys go with
   * them), or undefined when another replica ran it. Idempotency and dedupe records it deleted are
   * in the logs and orgmesh_retention_deleted_rows_total.
   */
  async retainOnce(): Promise<number | undefined> {
    const run = await this.jobs.retainOnce();
    if (!run) return undefined;
    const sessions = run.deleted['sessions.sessions'] ?? 0;
    this.recordAffected('retention', sessions);
    return sessions;
  }

  private recordAffected(job: string, affected: number | undefined): void {
    if (affected) {
      this.metrics.jobAffected.inc({ job }, affected);
      this.logger.info({ job, affected }, 'session job finished');
    }
  }
}
