import type { RetentionJob, RetentionRun } from '@orgmesh/persistence';
import { ServiceJobs } from '@orgmesh/service-host';
import type { Logger } from '@orgmesh/telemetry';
import type { TaskService } from './task.service.js';
import type { TaskRepository } from './task.repository.js';
import type { TaskMetrics } from './task.metrics.js';

const BATCH = 200;

/**
 * The deadline job (escalate undecided approvals, then time out open tasks past their deadline)
 * and the retention job (task.retention.ts: what it deletes; RetentionJob: how). Each tick runs only on the replica that wins the job's
 * Postgres advisory lock, so any number of replicas may run this safely.
 */
export class TaskJobs {
  private readonly jobs: ServiceJobs;

  constructor(
    private readonly service: TaskService,
    private readonly repository: TaskRepository,
    private readonly metrics: TaskMetrics,
    private readonly logger: Logger,
    retention: RetentionJob,
    private readonly options: { deadlineIntervalMs: number; retentionIntervalMs: number },
  ) {
    this.jobs = new ServiceJobs({
      logger,
      jobRuns: metrics.jobRuns,
      failureMessage: 'mesh job failed',
      retention: { job: retention, message: 'mesh retention finished' },
    });
  }

  start(): void {
    this.jobs.every('deadlines', this.options.deadlineIntervalMs, () => this.deadlinesOnce());
    this.jobs.every('retention', this.options.retentionIntervalMs, () => this.retainOnce());
  }

  stop(): Promise<void> {
    return this.jobs.stop();
  }

  /** One deadline tick; undefined when another replica ran it. */
  async deadlinesOnce(): Promise<{ escalated: number; expired: number } | undefined> {
    const { ran, result } = await this.repository.lockedJob('deadlines', async () => {
      let escalated = 0;
      for (const id of await this.service.dueForEscalation(BATCH)) {
        if ((await this.service.escalate(id)) !== undefined) escalated++;
      }
      let expired = 0;
      for (const id of await this.service.dueForExpiry(BATCH)) {
        if (await this.service.expire(id)) expired++;
      }
      return { escalated, expired };
    });
    this.jobs.recordRun('deadlines', ran);
    if (ran && result) {
      if (result.escalated) this.metrics.jobAffected.inc({ job: 'escalate' }, result.escalated);
      if (result.expired) this.metrics.jobAffected.inc({ job: 'expire' }, result.expired);
      if (result.escalated || result.expired) this.logger.info(result, 'deadline job finished');
    }
    return ran ? result : undefined;
  }

  /** One retention run (batches under the lock, each its own transaction); undefined when another replica ran it. */
  retainOnce(): Promise<RetentionRun | undefined> {
    return this.jobs.retainOnce();
  }
}
