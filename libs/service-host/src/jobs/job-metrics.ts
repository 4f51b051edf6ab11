import type { Counter, Registry } from 'prom-client';
import { seriesOn } from '@orgmesh/telemetry';

/**
 * `orgmesh_<service>_job_runs_total`: the runs of a service's background jobs by job and result
 * (ran; skipped: another replica holds the job's advisory lock; failed). One definition for every
 * stateful service, so the series keep one shape (docs/operations.md queries them per service).
 */
export function jobRunsCounter(registry: Registry, service: string): Counter<'job' | 'result'> {
  return seriesOn(registry).counter(
    `orgmesh_${service}_job_runs_total`,
    'background job runs by job and result (ran, skipped: another replica holds the lock, failed)',
    { labels: ['job', 'result'] },
  );
}

/** `orgmesh_<service>_job_affected_total`: the rows a job changed, by job; `help` says which. */
export function jobAffectedCounter(registry: Registry, service: string, help: string): Counter<'job'> {
  return seriesOn(registry).counter(`orgmesh_${service}_job_affected_total`, help, { labels: ['job'] });
}
