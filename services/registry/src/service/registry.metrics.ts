import { jobRunsCounter } from '@orgmesh/service-host';
import { counterSeries, metricsClass, seriesOn } from '@orgmesh/telemetry';
import type { Registry } from 'prom-client';

type Source<T> = () => Promise<T> | T;

/**
 * A registry operation counted by how it ended (registry.handlers.ts `countOutcome`): what it answered, or
 * the error code it failed with.
 */
const resultCounter = (name: string, help: string) =>
  counterSeries<'result'>(name, help, { labels: ['result'] });

const REGISTRY_SERIES = {
  loads: resultCounter(
    'orgmesh_registry_loads_total',
    'registry loads by result (stored, unchanged, or the error code, e.g. validation_failed)',
  ),
  orgImports: resultCounter(
    'orgmesh_registry_org_imports_total',
    'org chart imports by result (imported, or the error code, e.g. validation_failed, forbidden)',
  ),
  heartbeats: resultCounter(
    'orgmesh_registry_heartbeats_total',
    'agent heartbeats by result (in_sync, drift, or the error code)',
  ),
  policyDecisions: counterSeries(
    'orgmesh_registry_policy_decisions_total',
    'resolve-policy answers by decision (allow, deny)',
    { labels: ['decision'] },
  ),
  jobRuns: (registry: Registry) => jobRunsCounter(registry, 'registry'),
  markedOffline: counterSeries(
    'orgmesh_registry_agents_marked_offline_total',
    'agents the presence job marked offline (no heartbeat within the timeout)',
  ),
};

/** Prometheus series of the registry service. */
export class RegistryMetrics extends metricsClass(REGISTRY_SERIES) {
  private readonly sources: { version?: Source<number> } = {};

  constructor(registry: Registry) {
    super(registry);
    const sources = this.sources;
    seriesOn(registry).gauge(
      'orgmesh_registry_version',
      'the registry version this replica serves (0: none loaded)',
      { read: async () => (await sources.version?.()) ?? 0 },
    );
  }

  /** Where the gauges read their values at scrape time. */
  observe(sources: { version: Source<number> }): void {
    Object.assign(this.sources, sources);
  }
}
