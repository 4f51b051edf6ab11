import { describe, expect, it } from '@jest/globals';
import { createMetricsRegistry, metricConventionViolations } from '@orgmesh/telemetry';
import { SessionMetrics } from './session.metrics.js';

describe('sessions metrics', () => {
  it('follow the naming rules', async () => {
    const registry = createMetricsRegistry('sessions');
    // orgmesh_outbox_pending is the outbox relay's (libs/messaging test/metrics.integration-spec.ts).
    new SessionMetrics(registry);
    expect(await metricConventionViolations(registry, { requireSamples: false })).toEqual([]);
  });
});
