import { jobAffectedCounter, jobRunsCounter } from '@orgmesh/service-host';
import { Counter, type Registry } from 'prom-client';

/** Prometheus series of the mesh router. */
export class TaskMetrics {
  readonly requests: Counter<'operation' | 'result'>;
  readonly jobRuns: Counter<'job' | 'result'>;
  readonly jobAffected: Counter<'job'>;
  readonly undeliverable: Counter;
  readonly redeliveries: Counter<'result'>;
  readonly policyInvalidations: Counter;
  readonly transitions: Counter<'kind' | 'state'>;
  readonly rowCache: Counter<'result'>;
  private rowCacheSource: (() => { hits: number; misses: number; learned: number }) | undefined;
  private invalidationSource: (() => number) | undefined;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: 'orgmesh_mesh_requests_total',
      help: 'mesh RPCs by operation and result (ok, repeat, or the error code)',
      labelNames: ['operation', 'result'],
      registers: [registry],
    });
    this.jobRuns = jobRunsCounter(registry, 'mesh');
    this.jobAffected = jobAffectedCounter(
      registry,
      'mesh',
      'tasks escalated or timed out by the deadline job',
    );
    this.undeliverable = new Counter({
      name: 'orgmesh_mesh_undeliverable_total',
      help: 'tasks failed as undeliverable after their inbox delivery exhausted its attempts',
      registers: [registry],
    });
    this.redeliveries = new Counter({
      name: 'orgmesh_mesh_redeliveries_total',
      help: 'inbox deliveries of never-taken tasks published again by the re-delivery sweep, by result (published: the stream stored it; duplicate: dropped by its duplicate window, the original is still there; failed: retried next run)',
      labelNames: ['result'],
      registers: [registry],
    });
    // A counter kept as rows change, not a count of the table at scrape time: that read every
    // stored task on every scrape on every replica. Each replica counts the changes it committed;
    // sum over replicas (docs/operations.md has the queries).
    this.transitions = new Counter({
      name: 'orgmesh_mesh_task_transitions_total',
      help: 'task changes committed by this replica, by kind and the state entered (submitted: created); sum over replicas',
      labelNames: ['kind', 'state'],
      registers: [registry],
    });
    // Counts since start, kept by the cache and the policy client themselves and copied here at
    // scrape time: each counter equals its source's total (reset, then incremented by it), which
    // only goes back to 0 when the process restarts, as a counter does.
    this.rowCache = new Counter({
      name: 'orgmesh_mesh_update_row_cache_total',
      help: "updates decided on the cached row (hit) or after reading it (miss), and rows learned from other replicas' task events (learned); many misses with several replicas mean they do not hear each other",
      labelNames: ['result'],
      registers: [registry],
      collect: () => {
        const stats = this.rowCacheSource?.();
        if (!stats) return;
        this.rowCache.reset();
        this.rowCache.inc({ result: 'hit' }, stats.hits);
        this.rowCache.inc({ result: 'miss' }, stats.misses);
        this.rowCache.inc({ result: 'learned' }, stats.learned);
      },
    });
    this.policyInvalidations = new Counter({
      name: 'orgmesh_mesh_policy_cache_invalidations_total',
      help: 'policy cache invalidations (registry events, newer registry versions, reconnects)',
      registers: [registry],
      collect: () => {
        if (!this.invalidationSource) return;
        this.policyInvalidations.reset();
        this.policyInvalidations.inc(this.invalidationSource());
      },
    });
  }

  /** Where the gauges read their values at scrape time. */
  observe(sources: {
    policyInvalidations: () => number;
    rowCache?: () => { hits: number; misses: number; learned: number };
  }): void {
    this.rowCacheSource = sources.rowCache;
    this.invalidationSource = sources.policyInvalidations;
  }
}
