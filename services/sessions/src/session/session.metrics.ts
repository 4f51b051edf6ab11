import { callersRefusedCounter } from '@orgmesh/auth';
import { jobAffectedCounter, jobRunsCounter } from '@orgmesh/service-host';
import { counterSeries, metricsClass } from '@orgmesh/telemetry';
import type { Registry } from 'prom-client';

const SESSION_SERIES = {
  transitions: counterSeries(
    'orgmesh_session_transitions_total',
    'apply-event requests by event and result (applied, noop, or the error code)',
    { labels: ['event', 'result'] },
  ),
  // Shared with mesh-router and the registry (libs/auth): one series for refused callers on the bus.
  callersRefused: callersRefusedCounter,
  jobRuns: (registry: Registry) => jobRunsCounter(registry, 'session'),
  jobAffected: (registry: Registry) =>
    jobAffectedCounter(registry, 'session', 'sessions expired by the sweeper or deleted by retention'),
};

/** Prometheus series of the sessions service. */
export class SessionMetrics extends metricsClass(SESSION_SERIES) {}
