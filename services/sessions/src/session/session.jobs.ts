import { ServiceJobs, type ServiceJobParts, type StartableJobs } from '@orgmesh/service-host';
import type { SessionService } from './session.service.js';
import type { SessionRepository } from './session.repository.js';
import type { SessionMetrics } from './session.metrics.js';

/**
 * The idle sweeper and the retention job (session.retention.ts: what it deletes; RetentionJob:
 * how, in batches that each take the job's lock). Each tick runs only on the replica that wins the job's
 * Postgres advisory lock, so any number of replicas may run this safely. Tests run the ticks by
 * hand (startJobs: false).
 */
export interface SessionJobs extends StartableJobs {
  /** One sweeper tick; returns the number of sessions expired, or undefined when another replica ran it. */
  sweepOnce(): Promise<number | undefined>;
  /**
   * One retention run; returns the number of sessions deleted (their transitions and keys go with
   * them), or undefined when another replica ran it. Idempotency and dedupe records it deleted are
   * in the logs and orgmesh_retention_deleted_rows_total.
   */
  retainOnce(): Promise<number | undefined>;
}

export function sessionJobs(
  parts: ServiceJobParts<SessionMetrics> & { service: SessionService; repository: SessionRepository },
  options: { idleTimeoutMs: number; sweepIntervalMs: number; retentionIntervalMs: number },
): SessionJobs {
  const { service, repository, metrics, logger } = parts;
  const jobs = ServiceJobs.withRetention(parts, {
    failure: 'session job failed',
    retention: 'sessions retention finished',
  });
  const recordAffected = (job: string, affected: number | undefined): void => {
    if (affected) {
      metrics.jobAffected.inc({ job }, affected);
      logger.info({ job, affected }, 'session job finished');
    }
  };
  const runs = {
    sweepOnce: async () => {
      const { ran, result } = await repository.lockedJob('idle-sweeper', () =>
        service.sweepIdle(options.idleTimeoutMs),
      );
      jobs.recordRun('idle-sweeper', ran);
      if (ran) recordAffected('idle-sweeper', result);
      return ran ? result : undefined;
    },
    retainOnce: async () => {
      const run = await jobs.retainOnce();
      if (!run) return undefined;
      const sessions = run.deleted['sessions.sessions'] ?? 0;
      recordAffected('retention', sessions);
      return sessions;
    },
  };
  jobs.schedule(
    { name: 'idle-sweeper', intervalMs: options.sweepIntervalMs, run: runs.sweepOnce },
    { name: 'retention', intervalMs: options.retentionIntervalMs, run: runs.retainOnce },
  );
  return { ...runs, start: () => jobs.start(), stop: () => jobs.stop() };
}
