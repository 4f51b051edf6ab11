import { describe, expect, it } from '@jest/globals';
import { createMetricsRegistry, metricConventionViolations } from '@orgmesh/telemetry';
import { AgentMetrics } from './agent.metrics.js';

describe('agent metrics', () => {
  it('follow the naming rules', async () => {
    const registry = createMetricsRegistry('agent-legal');
    const metrics = new AgentMetrics(registry);
    metrics.deliveries.inc({ kind: 'task', outcome: 'ok' });
    metrics.handling.observe({ kind: 'task' }, 0.2);
    metrics.modelCalls.observe(0.1);
    metrics.toolCalls.inc({ tool: 'complete_task', ok: 'true' });
    // After one delivery that made one model call and one tool call, every series has a sample.
    expect(await metricConventionViolations(registry)).toEqual([]);
  });
});
