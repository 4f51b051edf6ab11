import type { Logger } from '@orgmesh/telemetry';
import type { SessionService } from './session.service.js';
import type { SessionRepository } from './session.repository.js';
import type { SessionMetrics } from './session.metrics.js';

/**
 * The idle sweeper and the retention job. Each tick runs only on the replica that wins the job's
 * Postgres advisory lock, so any number of replicas may run this safely.
 */
export class SessionJobs {
  private timers: NodeJS.Timeout[] = [];
  private running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly service: SessionService,
    private readonly repository: SessionRepository,
    private readonly metrics: SessionMetrics,
    private readonly logger: Logger,
    private readonly options: { idleTimeoutMs: number; sweepIntervalMs: number; retentionMs: number; retentionIntervalMs: number },
  ) {}

  start(): void {
    this.schedule('idle-sweeper', this.options.sweepIntervalMs, () => this.sweepOnce());
    this.schedule('retention', this.options.retentionIntervalMs, () => this.retainOnce());
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await Promise.allSettled([...this.running.values()]);
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

  private schedule(job: string, intervalMs: number, tick: () => Promise<unknown>): void {
    const timer = setInterval(() => {
      // A tick still running (a large backlog) is not overlapped by the next one.
      if (this.running.has(job)) return;
      const run = tick()
        .catch((error: unknown) => {
          this.metrics.jobRuns.inc({ job, result: 'failed' });
          this.logger.warn({ job, err: error instanceof Error ? { name: error.name, code: (error as { code?: string }).code } : undefined }, 'session job failed');
        })
        .finally(() => this.running.delete(job));
      this.running.set(job, run);
    }, intervalMs);
    timer.unref();
    this.timers.push(timer);
  }
}
