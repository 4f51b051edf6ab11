import { JobTimers, type Logger } from '@orgmesh/telemetry';
import type { TaskService } from './task.service.js';
import type { TaskRepository } from './task.repository.js';
import type { TaskMetrics } from './task.metrics.js';

const BATCH = 200;
const IDEMPOTENCY_RETENTION_MS = 7 * 86_400_000;

/**
 * The deadline job (escalate undecided approvals, then time out open tasks past their deadline)
 * and the idempotency-key retention job. Each tick runs only on the replica that wins the job's
 * Postgres advisory lock, so any number of replicas may run this safely.
 */
export class TaskJobs {
  private readonly timers: JobTimers;

  constructor(
    private readonly service: TaskService,
    private readonly repository: TaskRepository,
    private readonly metrics: TaskMetrics,
    private readonly logger: Logger,
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

  async retainOnce(): Promise<number | undefined> {
    const { ran, result } = await this.repository.lockedJob('retention', (tx) =>
      this.repository.deleteIdempotencyKeysBefore(tx, new Date(Date.now() - IDEMPOTENCY_RETENTION_MS)),
    );
    this.metrics.jobRuns.inc({ job: 'retention', result: ran ? 'ran' : 'skipped' });
    return ran ? result : undefined;
  }
}
