import { callersRefusedCounter } from '@orgmesh/auth';
import { jobAffectedCounter, jobRunsCounter } from '@orgmesh/service-host';
import { seriesOn } from '@orgmesh/telemetry';
import type { Counter, Registry } from 'prom-client';

/** Prometheus series of the sessions service. */
export class SessionMetrics {
  readonly transitions: Counter<'event' | 'result'>;
  readonly jobRuns: Counter<'job' | 'result'>;
  readonly callersRefused: Counter<'code'>;
  readonly jobAffected: Counter<'job'>;

  constructor(registry: Registry) {
    this.transitions = seriesOn(registry).counter(
      'orgmesh_session_transitions_total',
      'apply-event requests by event and result (applied, noop, or the error code)',
      { labels: ['event', 'result'] },
    );
    // Shared with mesh-router and the registry (libs/auth): one series for refused callers on the bus.
    this.callersRefused = callersRefusedCounter(registry);
    this.jobRuns = jobRunsCounter(registry, 'session');
    this.jobAffected = jobAffectedCounter(
      registry,
      'session',
      'sessions expired by the sweeper or deleted by retention',
    );
  }
}
