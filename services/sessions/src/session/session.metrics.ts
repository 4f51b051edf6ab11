import { callersRefusedCounter } from '@orgmesh/auth';
import { Counter, type Registry } from 'prom-client';

/** Prometheus series of the sessions service. */
export class SessionMetrics {
  readonly transitions: Counter<'event' | 'result'>;
  readonly jobRuns: Counter<'job' | 'result'>;
  readonly callersRefused: Counter<'code'>;
  readonly jobAffected: Counter<'job'>;

  constructor(registry: Registry) {
    this.transitions = new Counter({
      name: 'orgmesh_session_transitions_total',
      help: 'apply-event requests by event and result (applied, noop, or the error code)',
      labelNames: ['event', 'result'],
      registers: [registry],
    });
    // Shared with mesh-router and the registry (libs/auth): one series for refused callers on the bus.
    this.callersRefused = callersRefusedCounter(registry);
    this.jobRuns = new Counter({
      name: 'orgmesh_session_job_runs_total',
      help: 'background job runs by job and result (ran, skipped: another replica holds the lock, failed)',
      labelNames: ['job', 'result'],
      registers: [registry],
    });
    this.jobAffected = new Counter({
      name: 'orgmesh_session_job_affected_total',
      help: 'sessions expired by the sweeper or deleted by retention',
      labelNames: ['job'],
      registers: [registry],
    });
  }
}
