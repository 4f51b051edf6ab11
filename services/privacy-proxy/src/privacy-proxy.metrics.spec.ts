import { describe, expect, it } from '@jest/globals';
import { metricConventionViolations, UNEXPECTED_ERRORS } from '@orgmesh/telemetry';
import { PrivacyProxyMetrics } from './privacy-proxy.metrics.js';

describe('privacy proxy metrics', () => {
  it('follow the naming rules, every sample labelled service="privacy-proxy"', async () => {
    const metrics = new PrivacyProxyMetrics();
    expect(await metricConventionViolations(metrics.registry, { requireSamples: false })).toEqual([]);
    metrics.requests.inc({ route: 'openai.chat.completions', status: '200' });
    expect(await metrics.registry.metrics()).toMatch(
      /^orgmesh_privacy_proxy_requests_total\{route="openai.chat.completions",status="200",service="privacy-proxy"\} 1$/m,
    );
    expect(metrics.registry.getSingleMetric(UNEXPECTED_ERRORS)).toBe(metrics.unexpectedErrors);
  });
});
