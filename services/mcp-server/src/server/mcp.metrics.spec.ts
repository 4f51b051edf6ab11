import { describe, expect, it } from '@jest/globals';
import { metricConventionViolations } from '@orgmesh/telemetry';
import { McpMetrics } from './mcp.metrics.js';

describe('mcp metrics', () => {
  it('follow the naming rules', async () => {
    const metrics = new McpMetrics();
    metrics.countUnexpected('mcp-tool', 'list_tasks');
    expect(await metricConventionViolations(metrics.registry)).toEqual([]);
  });
});
