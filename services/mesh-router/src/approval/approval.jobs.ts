import { ServiceJobs } from '@orgmesh/service-host';
import type { Logger } from '@orgmesh/telemetry';
import type { TaskRepository } from '../task/task.repository.js';
import type { TaskMetrics } from '../task/task.metrics.js';
import type { ApprovalService } from './approval.service.js';

const BATCH = 200;

/**
 * The approvals' deadline sweep (ADR 0019): steps past their deadline escalate up the reporting
 * line, chains that end are denied, decisions not yet on their task are applied. The deadlines are
 * rows in Postgres, so the first sweep after a start honours every deadline that passed while no
 * router ran: `start()` sweeps at once, then every interval. One replica at a time (advisory lock).
 */
export class ApprovalJobs {
  private readonly jobs: ServiceJobs;

  constructor(
    private readonly service: ApprovalService,
    private readonly repository: TaskRepository,
    private readonly metrics: TaskMetrics,
    private readonly logger: Logger,
    private readonly options: { intervalMs: number },
  ) {
    this.jobs = new ServiceJobs({ logger, jobRuns: metrics.jobRuns, failureMessage: 'mesh job failed' });
  }

  start(): void {
    this.jobs.everyFromNow('approvals', this.options.intervalMs, () => this.sweepOnce());
  }

  stop(): Promise<void> {
    return this.jobs.stop();
  }

  /** One sweep; undefined when another replica ran it. */
  async sweepOnce(): Promise<{ escalated: number; ended: number; failed: number } | undefined> {
    const { ran, result } = await this.repository.lockedJob('approvals', () => this.service.sweepOnce(BATCH));
    this.jobs.recordRun('approvals', ran);
    if (ran && result) {
      if (result.escalated) this.metrics.jobAffected.inc({ job: 'approval-escalate' }, result.escalated);
      if (result.ended) this.metrics.jobAffected.inc({ job: 'approval-end' }, result.ended);
      if (result.failed) this.metrics.jobRuns.inc({ job: 'approvals', result: 'failed' });
      if (result.escalated || result.ended || result.failed)
        this.logger.info(result, 'approval sweep finished');
    }
    return ran ? result : undefined;
  }
}
