import { describe, expect, it } from '@jest/globals';
import { createMetricsRegistry, metricConventionViolations } from '@orgmesh/telemetry';
import { RegistryMetrics } from './registry.metrics.js';

describe('registry metrics', () => {
  it('follow the naming rules', async () => {
    const registry = createMetricsRegistry('registry');
    new RegistryMetrics(registry).observe({ version: () => 7 });
    expect(await metricConventionViolations(registry, { requireSamples: false })).toEqual([]);
    expect(await registry.metrics()).toMatch(/^orgmesh_registry_version\{service="registry"\} 7$/m);
  });
});
