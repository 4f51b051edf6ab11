import { jobRunsCounter } from '@orgmesh/service-host';
import { seriesOn } from '@orgmesh/telemetry';
import type { Counter, Registry } from 'prom-client';

type Source<T> = () => Promise<T> | T;

/** Prometheus series of the registry service. */
export class RegistryMetrics {
  readonly loads: Counter<'result'>;
  readonly orgImports: Counter<'result'>;
  readonly heartbeats: Counter<'result'>;
  readonly policyDecisions: Counter<'decision'>;
  readonly jobRuns: Counter<'job' | 'result'>;
  readonly markedOffline: Counter;
  private readonly sources: { version?: Source<number> } = {};

  constructor(registry: Registry) {
    const series = seriesOn(registry);
    this.loads = series.counter(
      'orgmesh_registry_loads_total',
      'registry loads by result (stored, unchanged, or the error code, e.g. validation_failed)',
      { labels: ['result'] },
    );
    this.orgImports = series.counter(
      'orgmesh_registry_org_imports_total',
      'org chart imports by result (imported, or the error code, e.g. validation_failed, forbidden)',
      { labels: ['result'] },
    );
    this.heartbeats = series.counter(
      'orgmesh_registry_heartbeats_total',
      'agent heartbeats by result (in_sync, drift, or the error code)',
      { labels: ['result'] },
    );
    this.policyDecisions = series.counter(
      'orgmesh_registry_policy_decisions_total',
      'resolve-policy answers by decision (allow, deny)',
      { labels: ['decision'] },
    );
    this.jobRuns = jobRunsCounter(registry, 'registry');
    this.markedOffline = series.counter(
      'orgmesh_registry_agents_marked_offline_total',
      'agents the presence job marked offline (no heartbeat within the timeout)',
    );
    const sources = this.sources;
    series.gauge('orgmesh_registry_version', 'the registry version this replica serves (0: none loaded)', {
      read: async () => (await sources.version?.()) ?? 0,
    });
  }

  /** Where the gauges read their values at scrape time. */
  observe(sources: { version: Source<number> }): void {
    Object.assign(this.sources, sources);
  }
}
