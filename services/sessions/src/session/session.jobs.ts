import { JobTimers, type Logger } from '@orgmesh/telemetry';
import type { SessionService } from './session.service.js';
import type { SessionRepository } from './session.repository.js';
import type { SessionMetrics } from './session.metrics.js';

/**
 * The idle sweeper and the retention job. Each tick runs only on the replica that wins the job's
 * Postgres advisory lock, so any number of replicas may run this safely.
 */
export class SessionJobs {
  private readonly timers: JobTimers;

  constructor(
    private readonly service: SessionService,
    private readonly repository: SessionRepository,
    private readonly metrics: SessionMetrics,
    private readonly logger: Logger,
    private readonly options: { idleTimeoutMs: number; sweepIntervalMs: number; retentionMs: number; retentionIntervalMs: number },
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

  /** One retention tick; returns the number of sessions deleted, or undefined when another replica ran it. */
  async retainOnce(): Promise<number | undefined> {
    const { ran, result } = await this.repository.lockedJob('retention', (tx) =>
      this.service.purgeTerminal(tx, this.options.retentionMs),
    );
    this.record('retention', ran, result);
    return ran ? result : undefined;
  }

  private record(job: string, ran: boolean, affected: number | undefined): void {
    this.metrics.jobRuns.inc({ job, result: ran ? 'ran' : 'skipped' });
    if (ran && affected) {
      this.metrics.jobAffected.inc({ job }, affected);
      this.logger.info({ job, affected }, 'session job finished');
    }
  }
}
