import { describe, expect, it } from '@jest/globals';
import { createMetricsRegistry, metricConventionViolations } from '@orgmesh/telemetry';
import { TaskMetrics } from './task.metrics.js';

describe('mesh-router metrics', () => {
  it('follow the naming rules, and report the counts since start as counters equal to their sources', async () => {
    const registry = createMetricsRegistry('mesh-router');
    const metrics = new TaskMetrics(registry);
    let stats = { hits: 5, misses: 2, learned: 1 };
    let invalidations = 3;
    metrics.observe({
      policyInvalidations: () => invalidations,
      rowCache: () => stats,
    });
    expect(await metricConventionViolations(registry, { requireSamples: false })).toEqual([]);
    const text = async () => registry.metrics();
    expect(await text()).toMatch(/^# TYPE orgmesh_mesh_update_row_cache_total counter$/m);
    expect(await text()).toMatch(
      /^orgmesh_mesh_update_row_cache_total\{result="hit",service="mesh-router"\} 5$/m,
    );
    expect(await text()).toMatch(
      /^orgmesh_mesh_policy_cache_invalidations_total\{service="mesh-router"\} 3$/m,
    );
    // Scraped again: the source's new total, not the sum of both scrapes.
    stats = { hits: 9, misses: 2, learned: 1 };
    invalidations = 4;
    expect(await text()).toMatch(
      /^orgmesh_mesh_update_row_cache_total\{result="hit",service="mesh-router"\} 9$/m,
    );
    expect(await text()).toMatch(
      /^orgmesh_mesh_policy_cache_invalidations_total\{service="mesh-router"\} 4$/m,
    );
  });
});
