import { jobRunsCounter } from '@orgmesh/service-host';
import { Counter, Gauge, type Registry } from 'prom-client';

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
    this.loads = new Counter({
      name: 'orgmesh_registry_loads_total',
      help: 'registry loads by result (stored, unchanged, or the error code, e.g. validation_failed)',
      labelNames: ['result'],
      registers: [registry],
    });
    this.orgImports = new Counter({
      name: 'orgmesh_registry_org_imports_total',
      help: 'org chart imports by result (imported, or the error code, e.g. validation_failed, forbidden)',
      labelNames: ['result'],
      registers: [registry],
    });
    this.heartbeats = new Counter({
      name: 'orgmesh_registry_heartbeats_total',
      help: 'agent heartbeats by result (in_sync, drift, or the error code)',
      labelNames: ['result'],
      registers: [registry],
    });
    this.policyDecisions = new Counter({
      name: 'orgmesh_registry_policy_decisions_total',
      help: 'resolve-policy answers by decision (allow, deny)',
      labelNames: ['decision'],
      registers: [registry],
    });
    this.jobRuns = jobRunsCounter(registry, 'registry');
    this.markedOffline = new Counter({
      name: 'orgmesh_registry_agents_marked_offline_total',
      help: 'agents the presence job marked offline (no heartbeat within the timeout)',
      registers: [registry],
    });
    const sources = this.sources;
    new Gauge({
      name: 'orgmesh_registry_version',
      help: 'the registry version this replica serves (0: none loaded)',
      registers: [registry],
      async collect() {
        this.set((await sources.version?.()) ?? 0);
      },
    });
  }

  /** Where the gauges read their values at scrape time. */
  observe(sources: { version: Source<number> }): void {
    Object.assign(this.sources, sources);
  }
}
