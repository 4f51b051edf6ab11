import { describe, expect, it } from '@jest/globals';
import { createMetricsRegistry, metricConventionViolations } from '@orgmesh/telemetry';
import { SessionMetrics } from './session.metrics.js';

describe('sessions metrics', () => {
  it('follow the naming rules', async () => {
    const registry = createMetricsRegistry('sessions');
    new SessionMetrics(registry).observeOutbox(async () => ({ pending: 2, oldestAgeMs: 10 }));
    expect(await metricConventionViolations(registry, { requireSamples: false })).toEqual([]);
    expect(await registry.metrics()).toMatch(/^orgmesh_outbox_pending\{service="sessions"\} 2$/m);
  });
});
