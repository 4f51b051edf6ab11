import type { Logger } from '@orgmesh/telemetry';
import type { RegistryService } from './registry.service.js';
import type { RegistryMetrics } from './registry.metrics.js';

/**
 * Background work: the presence sweep (marks silent agents offline; only the replica holding the
 * job's advisory lock runs a tick) and the version refresh (every replica installs versions another
 * replica loaded).
 */
export class RegistryJobs {
  private timers: NodeJS.Timeout[] = [];
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly service: RegistryService,
    private readonly metrics: RegistryMetrics,
    private readonly logger: Logger,
    private readonly options: { presenceSweepIntervalMs: number; refreshIntervalMs: number },
  ) {}

  start(): void {
    this.schedule('presence', this.options.presenceSweepIntervalMs, () => this.sweepOnce());
    this.schedule('refresh', this.options.refreshIntervalMs, () => this.refreshOnce());
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await Promise.allSettled([...this.running.values()]);
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

  private schedule(job: string, intervalMs: number, tick: () => Promise<unknown>): void {
    const timer = setInterval(() => {
      // A tick still running is not overlapped by the next one.
      if (this.running.has(job)) return;
      const run = tick()
        .catch((error: unknown) => {
          this.metrics.jobRuns.inc({ job, result: 'failed' });
          this.logger.warn(
            {
              job,
              err:
                error instanceof Error
                  ? { name: error.name, code: (error as { code?: string }).code }
                  : undefined,
            },
            'registry job failed',
          );
        })
        .finally(() => this.running.delete(job));
      this.running.set(job, run);
    }, intervalMs);
    timer.unref();
    this.timers.push(timer);
  }
}
