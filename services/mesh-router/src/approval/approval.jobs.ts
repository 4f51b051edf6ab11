import { ServiceJobs, type StartableJobs } from '@orgmesh/service-host';
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
export interface ApprovalJobs extends StartableJobs {
  /** One sweep; undefined when another replica ran it. */
  sweepOnce(): Promise<{ escalated: number; ended: number; failed: number } | undefined>;
}

export function approvalJobs(
  parts: { service: ApprovalService; repository: TaskRepository; metrics: TaskMetrics; logger: Logger },
  options: { intervalMs: number },
): ApprovalJobs {
  const { service, repository, metrics, logger } = parts;
  const jobs = new ServiceJobs({ logger, jobRuns: metrics.jobRuns, failureMessage: 'mesh job failed' });
  const sweepOnce = async () => {
    const { ran, result } = await repository.lockedJob('approvals', () => service.sweepOnce(BATCH));
    jobs.recordRun('approvals', ran);
    if (ran && result) {
      if (result.escalated) metrics.jobAffected.inc({ job: 'approval-escalate' }, result.escalated);
      if (result.ended) metrics.jobAffected.inc({ job: 'approval-end' }, result.ended);
      if (result.failed) metrics.jobRuns.inc({ job: 'approvals', result: 'failed' });
      if (result.escalated || result.ended || result.failed) logger.info(result, 'approval sweep finished');
    }
    return ran ? result : undefined;
  };
  jobs.schedule({ name: 'approvals', intervalMs: options.intervalMs, run: sweepOnce, fromStart: true });
  return { sweepOnce, start: () => jobs.start(), stop: () => jobs.stop() };
}
