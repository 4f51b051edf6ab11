import { JobTimers, type Logger } from '@orgmesh/telemetry';
import type { RegistryService } from './registry.service.js';
import type { RegistryMetrics } from './registry.metrics.js';

/**
 * Background work: the presence sweep (marks silent agents offline; only the replica holding the
 * job's advisory lock runs a tick) and the version refresh (every replica installs versions another
 * replica loaded).
 */
export class RegistryJobs {
  private readonly timers: JobTimers;

  constructor(
    private readonly service: RegistryService,
    private readonly metrics: RegistryMetrics,
    private readonly logger: Logger,
    private readonly options: { presenceSweepIntervalMs: number; refreshIntervalMs: number },
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
  }

  stop(): Promise<void> {
    return this.timers.stop();
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
