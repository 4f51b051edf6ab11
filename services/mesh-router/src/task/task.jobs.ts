import type { Logger } from '@orgmesh/telemetry';
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
  private timers: NodeJS.Timeout[] = [];
  private running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly service: TaskService,
    private readonly repository: TaskRepository,
    private readonly metrics: TaskMetrics,
    private readonly logger: Logger,
    private readonly options: { deadlineIntervalMs: number; retentionIntervalMs: number },
  ) {}

  start(): void {
    this.schedule('deadlines', this.options.deadlineIntervalMs, () => this.deadlinesOnce());
    this.schedule('retention', this.options.retentionIntervalMs, () => this.retainOnce());
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await Promise.allSettled([...this.running.values()]);
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

  private schedule(job: string, intervalMs: number, tick: () => Promise<unknown>): void {
    const timer = setInterval(() => {
      // A tick still running (a large backlog, a slow registry) is not overlapped by the next one.
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
            'mesh job failed',
          );
        })
        .finally(() => this.running.delete(job));
      this.running.set(job, run);
    }, intervalMs);
    timer.unref();
    this.timers.push(timer);
  }
}
