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

  it('show the detector build: its duration, the org version in use and whether a newer one builds', async () => {
    const metrics = new PrivacyProxyMetrics({ defaultMetrics: false });
    metrics.observeDetectors(() => ({
      inUse: { orgVersion: 7, people: 100_000 },
      building: { orgVersion: 8, people: 100_001, seconds: 1.5 },
    }));
    metrics.detectorBuild.observe({ outcome: 'ok' }, 3.2);
    expect(await metricConventionViolations(metrics.registry, { requireSamples: false })).toEqual([]);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^orgmesh_privacy_detector_org_version\{service="privacy-proxy"\} 7$/m);
    expect(text).toMatch(/^orgmesh_privacy_detector_building\{service="privacy-proxy"\} 1$/m);
    expect(text).toMatch(/^orgmesh_privacy_detector_build_seconds_count\{[^}]*outcome="ok"[^}]*\} 1$/m);
  });

  it('declare the usage series only when usage is counted, and every refusal reason from the start', async () => {
    const metrics = new PrivacyProxyMetrics({ defaultMetrics: false });
    expect(metrics.registry.getSingleMetric('orgmesh_privacy_proxy_llm_calls_total')).toBeUndefined();
    const text = await metrics.registry.metrics();
    for (const reason of ['budget', 'rate_limit', 'model_policy', 'store_unavailable'])
      expect(text).toMatch(
        new RegExp(
          `^orgmesh_privacy_proxy_llm_refusals_total\\{reason="${reason}",service="privacy-proxy"\\} 0$`,
          'm',
        ),
      );
    const usage = metrics.llmUsage();
    expect(metrics.llmUsage()).toBe(usage);
    usage.calls.inc({ provider: 'openai', model: 'gpt-4o-mini', role: 'finance', estimated: 'false' });
    usage.tokens.inc({ provider: 'openai', model: 'gpt-4o-mini', role: 'finance', type: 'input' }, 10);
    usage.cost.inc({ provider: 'openai', model: 'gpt-4o-mini', role: 'finance' }, 0.00001);
    expect(await metricConventionViolations(metrics.registry, { requireSamples: false })).toEqual([]);
    expect(await metrics.registry.metrics()).toMatch(
      /^orgmesh_privacy_proxy_llm_tokens_total\{provider="openai",model="gpt-4o-mini",role="finance",type="input",service="privacy-proxy"\} 10$/m,
    );
  });
});
