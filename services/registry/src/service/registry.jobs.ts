import type { RetentionRun } from '@orgmesh/persistence';
import { ServiceJobs, type ServiceJobParts, type StartableJobs } from '@orgmesh/service-host';
import type { RegistryService } from './registry.service.js';
import type { RegistryMetrics } from './registry.metrics.js';

/**
 * Background work: the presence sweep (marks silent agents offline; only the replica holding the
 * job's advisory lock runs a tick) and the version refresh (every replica installs versions another
 * replica loaded), and the retention job (RetentionJob: batches under its advisory lock). Tests run
 * the ticks by hand (startJobs: false).
 */
export interface RegistryJobs extends StartableJobs {
  /** One presence tick; the number of agents marked offline, or undefined when another replica ran it. */
  sweepOnce(): Promise<number | undefined>;
  /** Installs a version another replica loaded; whether the current version changed. */
  refreshOnce(): Promise<boolean>;
  /** One retention run; undefined when another replica ran it. */
  retainOnce(): Promise<RetentionRun | undefined>;
}

export function registryJobs(
  parts: ServiceJobParts<RegistryMetrics> & { service: RegistryService },
  options: { presenceSweepIntervalMs: number; refreshIntervalMs: number; retentionIntervalMs: number },
): RegistryJobs {
  const { service, metrics, logger } = parts;
  const jobs = ServiceJobs.withRetention(parts, {
    failure: 'registry job failed',
    retention: 'registry retention finished',
  });
  const runs = {
    sweepOnce: async () => {
      const offline = await service.sweepPresence();
      jobs.recordRun('presence', offline !== undefined);
      if (offline) {
        metrics.markedOffline.inc(offline);
        logger.info({ job: 'presence', offline }, 'agents marked offline');
      }
      return offline;
    },
    refreshOnce: async () => {
      const changed = await service.refresh();
      jobs.recordRun('refresh', true);
      return changed;
    },
    retainOnce: () => jobs.retainOnce(),
  };
  jobs.schedule(
    { name: 'presence', intervalMs: options.presenceSweepIntervalMs, run: runs.sweepOnce },
    { name: 'refresh', intervalMs: options.refreshIntervalMs, run: runs.refreshOnce },
    { name: 'retention', intervalMs: options.retentionIntervalMs, run: runs.retainOnce },
  );
  return { ...runs, start: () => jobs.start(), stop: () => jobs.stop() };
}
