import type { RetentionJob, RetentionRun } from '@orgmesh/persistence';
import { JobTimers, type Logger } from '@orgmesh/telemetry';
import type { RegistryService } from './registry.service.js';
import type { RegistryMetrics } from './registry.metrics.js';

/**
 * Background work: the presence sweep (marks silent agents offline; only the replica holding the
 * job's advisory lock runs a tick) and the version refresh (every replica installs versions another
 * replica loaded), and the retention job (RetentionJob: batches under its advisory lock).
 */
export class RegistryJobs {
  private readonly timers: JobTimers;

  constructor(
    private readonly service: RegistryService,
    private readonly metrics: RegistryMetrics,
    private readonly logger: Logger,
    private readonly retention: RetentionJob,
    private readonly options: { presenceSweepIntervalMs: number; refreshIntervalMs: number; retentionIntervalMs: number },
  ) {
    this.timers = new JobTimers({
      logger,
      failureMessage: 'registry job failed',
      onFailure: (job) => metrics.jobRuns.inc({ job, result: 'failed' }),
    });
  }

  start(): void {
    this.timers.every('presence', this.options.presenceSweepIntervalMs, () => this.sweepOnce());
    this.timers.every('refresh', this.options.refreshIntervalMs, () => this.refreshOnce());
    this.timers.every('retention', this.options.retentionIntervalMs, () => this.retainOnce());
  }

  stop(): Promise<void> {
    // A retention run in progress ends after its current batch instead of holding up the shutdown.
    this.retention.stop();
    return this.timers.stop();
  }

  /** One retention run; undefined when another replica ran it. */
  async retainOnce(): Promise<RetentionRun | undefined> {
    const run = await this.retention.runOnce();
    this.metrics.jobRuns.inc({ job: 'retention', result: run.ran ? 'ran' : 'skipped' });
    if (!run.ran) return undefined;
    if (Object.values(run.deleted).some((n) => n > 0) || run.stoppedEarly)
      this.logger.info(
        { job: 'retention', deleted: run.deleted, batches: run.batches, stoppedEarly: run.stoppedEarly },
        'registry retention finished',
      );
    return run;
  }

  /** One presence tick; the number of agents marked offline, or undefined when another replica ran it. */
  async sweepOnce(): Promise<number | undefined> {
    const offline = await this.service.sweepPresence();
    this.metrics.jobRuns.inc({ job: 'presence', result: offline === undefined ? 'skipped' : 'ran' });
    if (offline) {
      this.metrics.markedOffline.inc(offline);
      this.logger.info({ job: 'presence', offline }, 'agents marked offline');
    }
    return offline;
  }

  async refreshOnce(): Promise<boolean> {
    const changed = await this.service.refresh();
    this.metrics.jobRuns.inc({ job: 'refresh', result: 'ran' });
    return changed;
  }
}
