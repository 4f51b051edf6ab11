import type { RetentionRun } from '@orgmesh/persistence';
import { ServiceJobs, type ServiceJobParts, type StartableJobs } from '@orgmesh/service-host';
import type { TaskService } from './task.service.js';
import type { TaskRepository } from './task.repository.js';
import type { TaskMetrics } from './task.metrics.js';

const BATCH = 200;

/**
 * The deadline job (escalate undecided approvals, then time out open tasks past their deadline)
 * and the retention job (task.retention.ts: what it deletes; RetentionJob: how). Each tick runs only on the replica that wins the job's
 * Postgres advisory lock, so any number of replicas may run this safely. Tests run the ticks by
 * hand (startJobs: false).
 */
export interface TaskJobs extends StartableJobs {
  /** One deadline tick; undefined when another replica ran it. */
  deadlinesOnce(): Promise<{ escalated: number; expired: number } | undefined>;
  /** One retention run (batches under the lock, each its own transaction); undefined when another replica ran it. */
  retainOnce(): Promise<RetentionRun | undefined>;
}

export function taskJobs(
  parts: ServiceJobParts<TaskMetrics> & { service: TaskService; repository: TaskRepository },
  options: { deadlineIntervalMs: number; retentionIntervalMs: number },
): TaskJobs {
  const { service, repository, metrics, logger } = parts;
  const jobs = ServiceJobs.withRetention(parts, {
    failure: 'mesh job failed',
    retention: 'mesh retention finished',
  });
  const runs = {
    deadlinesOnce: async () => {
      const { ran, result } = await repository.lockedJob('deadlines', async () => {
        let escalated = 0;
        for (const id of await service.dueForEscalation(BATCH)) {
          if ((await service.escalate(id)) !== undefined) escalated++;
        }
        let expired = 0;
        for (const id of await service.dueForExpiry(BATCH)) {
          if (await service.expire(id)) expired++;
        }
        return { escalated, expired };
      });
      jobs.recordRun('deadlines', ran);
      if (ran && result) {
        if (result.escalated) metrics.jobAffected.inc({ job: 'escalate' }, result.escalated);
        if (result.expired) metrics.jobAffected.inc({ job: 'expire' }, result.expired);
        if (result.escalated || result.expired) logger.info(result, 'deadline job finished');
      }
      return ran ? result : undefined;
    },
    retainOnce: () => jobs.retainOnce(),
  };
  jobs.schedule(
    { name: 'deadlines', intervalMs: options.deadlineIntervalMs, run: runs.deadlinesOnce },
    { name: 'retention', intervalMs: options.retentionIntervalMs, run: runs.retainOnce },
  );
  return { ...runs, start: () => jobs.start(), stop: () => jobs.stop() };
}
