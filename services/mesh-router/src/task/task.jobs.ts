import type { RetentionJob, RetentionRun } from '@orgmesh/persistence';
import { JobTimers, type Logger } from '@orgmesh/telemetry';
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
  private readonly timers: JobTimers;

  constructor(
    private readonly service: TaskService,
    private readonly repository: TaskRepository,
    private readonly metrics: TaskMetrics,
    private readonly logger: Logger,
    private readonly retention: RetentionJob,
    private readonly options: { deadlineIntervalMs: number; retentionIntervalMs: number },
  ) {
    this.timers = new JobTimers({
      logger,
      failureMessage: 'mesh job failed',
      onFailure: (job) => metrics.jobRuns.inc({ job, result: 'failed' }),
    });
  }

  start(): void {
    this.timers.every('deadlines', this.options.deadlineIntervalMs, () => this.deadlinesOnce());
    this.timers.every('retention', this.options.retentionIntervalMs, () => this.retainOnce());
  }

  stop(): Promise<void> {
    // A retention run in progress ends after its current batch instead of holding up the shutdown.
    this.retention.stop();
    return this.timers.stop();
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
    this.metrics.jobRuns.inc({ job: 'deadlines', result: ran ? 'ran' : 'skipped' });
    if (ran && result) {
      if (result.escalated) this.metrics.jobAffected.inc({ job: 'escalate' }, result.escalated);
      if (result.expired) this.metrics.jobAffected.inc({ job: 'expire' }, result.expired);
      if (result.escalated || result.expired) this.logger.info(result, 'deadline job finished');
    }
    return ran ? result : undefined;
  }

  /** One retention run (batches under the lock, each its own transaction); undefined when another replica ran it. */
  async retainOnce(): Promise<RetentionRun | undefined> {
    const run = await this.retention.runOnce();
    this.metrics.jobRuns.inc({ job: 'retention', result: run.ran ? 'ran' : 'skipped' });
    if (!run.ran) return undefined;
    const deleted = Object.values(run.deleted).reduce((a, b) => a + b, 0);
    if (deleted > 0 || run.stoppedEarly)
      this.logger.info(
        { job: 'retention', deleted: run.deleted, batches: run.batches, longestBatchMs: Math.round(run.longestBatchMs), stoppedEarly: run.stoppedEarly },
        'mesh retention finished',
      );
    return run;
  }
}
