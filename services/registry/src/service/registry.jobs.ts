import type { RetentionJob, RetentionRun } from '@orgmesh/persistence';
import { ServiceJobs } from '@orgmesh/service-host';
import type { Logger } from '@orgmesh/telemetry';
import type { RegistryService } from './registry.service.js';
import type { RegistryMetrics } from './registry.metrics.js';

/**
 * Background work: the presence sweep (marks silent agents offline; only the replica holding the
 * job's advisory lock runs a tick) and the version refresh (every replica installs versions another
 * replica loaded), and the retention job (RetentionJob: batches under its advisory lock).
 */
export class RegistryJobs {
  private readonly jobs: ServiceJobs;

  constructor(
    private readonly service: RegistryService,
    private readonly metrics: RegistryMetrics,
    private readonly logger: Logger,
    retention: RetentionJob,
    private readonly options: { presenceSweepIntervalMs: number; refreshIntervalMs: number; retentionIntervalMs: number },
  ) {
    this.jobs = new ServiceJobs({
      logger,
      jobRuns: metrics.jobRuns,
      failureMessage: 'registry job failed',
      retention: { job: retention, message: 'registry retention finished' },
    });
  }

  start(): void {
    this.jobs.every('presence', this.options.presenceSweepIntervalMs, () => this.sweepOnce());
    this.jobs.every('refresh', this.options.refreshIntervalMs, () => this.refreshOnce());
    this.jobs.every('retention', this.options.retentionIntervalMs, () => this.retainOnce());
  }

  stop(): Promise<void> {
    return this.jobs.stop();
  }

  /** One retention run; undefined when another replica ran it. */
  retainOnce(): Promise<RetentionRun | undefined> {
    return this.jobs.retainOnce();
  }

  /** One presence tick; the number of agents marked offline, or undefined when another replica ran it. */
  async sweepOnce(): Promise<number | undefined> {
    const offline = await this.service.sweepPresence();
    this.jobs.recordRun('presence', offline !== undefined);
    if (offline) {
      this.metrics.markedOffline.inc(offline);
      this.logger.info({ job: 'presence', offline }, 'agents marked offline');
    }
    return offline;
  }

  async refreshOnce(): Promise<boolean> {
    const changed = await this.service.refresh();
    this.jobs.recordRun('refresh', true);
    return changed;
  }
}
