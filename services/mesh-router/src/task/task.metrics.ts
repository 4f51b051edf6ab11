import { jobAffectedCounter, jobRunsCounter } from '@orgmesh/service-host';
import { counterSeries, metricsClass, seriesOn } from '@orgmesh/telemetry';
import type { Counter, Registry } from 'prom-client';

const TASK_SERIES = {
  requests: counterSeries(
    'orgmesh_mesh_requests_total',
    'mesh RPCs by operation and result (ok, repeat, or the error code)',
    { labels: ['operation', 'result'] },
  ),
  jobRuns: (registry: Registry) => jobRunsCounter(registry, 'mesh'),
  jobAffected: (registry: Registry) =>
    jobAffectedCounter(registry, 'mesh', 'tasks escalated or timed out by the deadline job'),
  undeliverable: counterSeries(
    'orgmesh_mesh_undeliverable_total',
    'tasks failed as undeliverable after their inbox delivery exhausted its attempts',
  ),
  redeliveries: counterSeries(
    'orgmesh_mesh_redeliveries_total',
    'inbox deliveries of never-taken tasks published again by the re-delivery sweep, by result (published: the stream stored it; duplicate: dropped by its duplicate window, the original is still there; failed: retried next run)',
    { labels: ['result'] },
  ),
  // A counter kept as rows change, not a count of the table at scrape time: that read every
  // stored task on every scrape on every replica. Each replica counts the changes it committed;
  // sum over replicas (docs/operations.md has the queries).
  transitions: counterSeries(
    'orgmesh_mesh_task_transitions_total',
    'task changes committed by this replica, by kind and the state entered (submitted: created); sum over replicas',
    { labels: ['kind', 'state'] },
  ),
};

/** Prometheus series of the mesh router. */
export class TaskMetrics extends metricsClass(TASK_SERIES) {
  readonly rowCache: Counter<'result'>;
  readonly policyInvalidations: Counter;
  private rowCacheSource: (() => { hits: number; misses: number; learned: number }) | undefined;
  private invalidationSource: (() => number) | undefined;

  constructor(registry: Registry) {
    super(registry);
    const series = seriesOn(registry);
    // Counts since start, kept by the cache and the policy client themselves and copied here at
    // scrape time: each counter equals its source's total (reset, then incremented by it), which
    // only goes back to 0 when the process restarts, as a counter does.
    this.rowCache = series.counter(
      'orgmesh_mesh_update_row_cache_total',
      "updates decided on the cached row (hit) or after reading it (miss), and rows learned from other replicas' task events (learned); many misses with several replicas mean they do not hear each other",
      {
        labels: ['result'],
        collect: () => {
          const stats = this.rowCacheSource?.();
          if (!stats) return;
          this.rowCache.reset();
          this.rowCache.inc({ result: 'hit' }, stats.hits);
          this.rowCache.inc({ result: 'miss' }, stats.misses);
          this.rowCache.inc({ result: 'learned' }, stats.learned);
        },
      },
    );
    this.policyInvalidations = series.counter(
      'orgmesh_mesh_policy_cache_invalidations_total',
      'policy cache invalidations (registry events, newer registry versions, reconnects)',
      {
        collect: () => {
          if (!this.invalidationSource) return;
          this.policyInvalidations.reset();
          this.policyInvalidations.inc(this.invalidationSource());
        },
      },
    );
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
