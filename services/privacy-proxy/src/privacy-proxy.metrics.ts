import type { Registry } from 'prom-client';
import {
  counterSeries,
  createMetricsRegistry,
  declareSeries,
  histogramSeries,
  metricsClass,
  seriesOn,
  unexpectedErrorsCounter,
  type DeclaredSeries,
} from '@orgmesh/telemetry';
import type { DetectorStatus } from './privacy/detector-cache.js';

const PROXY_SERIES = {
  requests: counterSeries('orgmesh_privacy_proxy_requests_total', 'Requests by route and status', {
    labels: ['route', 'status'],
  }),
  duration: histogramSeries(
    'orgmesh_privacy_proxy_request_duration_seconds',
    'Request latency including the upstream (until the last byte for streams)',
    {
      labels: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    },
  ),
  overhead: histogramSeries(
    'orgmesh_privacy_proxy_processing_seconds',
    'Time the proxy adds before forwarding: auth, parsing, detection and masking',
    { labels: ['route'], buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1] },
  ),
  redactions: counterSeries(
    'orgmesh_privacy_proxy_redactions_total',
    'Detected entities by type and the action taken (mask, detect, strict)',
    { labels: ['entity_type', 'action'] },
  ),
  refusals: counterSeries('orgmesh_privacy_proxy_refusals_total', 'Requests refused in strict mode', {
    labels: ['route'],
  }),
  unscanned: counterSeries(
    'orgmesh_privacy_proxy_unscanned_total',
    'Binary request parts forwarded unscanned by the profile (binary: allow), by media type',
    { labels: ['media_type'] },
  ),
  /** The series every orgmesh edge counts into (edge="http" here). */
  unexpectedErrors: unexpectedErrorsCounter,
  upstreamErrors: counterSeries(
    'orgmesh_privacy_proxy_upstream_errors_total',
    'Upstream failures (unreachable, timeouts, broken streams)',
    { labels: ['provider'] },
  ),
  /** One directory's detector build (index plus the detectors in use), by outcome (ok, error). */
  detectorBuild: histogramSeries(
    'orgmesh_privacy_detector_build_seconds',
    'Building the name detectors for a new org directory, off the request path (previous directory serves meanwhile)',
    { labels: ['outcome'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40] },
  ),
  /** Texts whose detection came from memory (a conversation's history sent again) or was run. */
  detectionMemo: counterSeries(
    'orgmesh_privacy_detection_memo_total',
    'Texts of 256 characters or more whose detection was read from memory (hit: sent before, e.g. conversation history) or run (miss)',
    { labels: ['result'], startAtZero: { result: ['hit', 'miss'] } },
  ),
  /** Calls refused before the provider: budget, rate_limit, model_policy, store_unavailable. */
  llmRefusals: counterSeries(
    'orgmesh_privacy_proxy_llm_refusals_total',
    'Model calls refused before the provider by LLM governance: budget, rate_limit, model_policy, store_unavailable',
    // Every reason has a series from the start, so that a rate over it is defined before the first refusal.
    {
      labels: ['reason'],
      startAtZero: { reason: ['budget', 'rate_limit', 'model_policy', 'store_unavailable'] },
    },
  ),
  budgetWarnings: counterSeries(
    'orgmesh_privacy_proxy_budget_warnings_total',
    'Budget warning thresholds crossed (privacy.v1.budget-warning sent by this replica)',
  ),
  budgetStoreErrors: counterSeries(
    'orgmesh_privacy_proxy_budget_store_errors_total',
    'Failed reads or writes of the shared budget counters (Postgres)',
  ),
};

const LLM_USAGE_SERIES = {
  /** Model calls answered by a provider, by provider, model, role and whether the usage was estimated. */
  calls: counterSeries(
    'orgmesh_privacy_proxy_llm_calls_total',
    'Model calls a provider answered, by provider, model, role and estimated (usage counted by the tokenizer because the answer had none)',
    { labels: ['provider', 'model', 'role', 'estimated'] },
  ),
  /** Tokens of those calls by type (input, output, cached_input). */
  tokens: counterSeries(
    'orgmesh_privacy_proxy_llm_tokens_total',
    'Tokens of model calls by type: input (cache reads and writes included), output, cached_input',
    { labels: ['provider', 'model', 'role', 'type'] },
  ),
  /** Their cost by the price table (0 for models it does not price). */
  cost: counterSeries(
    'orgmesh_privacy_proxy_llm_cost_usd_total',
    "Cost of model calls in US dollars by the proxy's price table (PRIVACY_LLM_PRICES over the shipped defaults)",
    { labels: ['provider', 'model', 'role'] },
  ),
};

/** Usage accounting's series (issue 24). */
export type LlmUsageCounters = DeclaredSeries<typeof LLM_USAGE_SERIES>;

/**
 * The proxy's Prometheus metrics, on their own registry (one per server instance), named like every
 * other service's: `orgmesh_privacy_proxy_*`, each sample labelled `service="privacy-proxy"`.
 */
export class PrivacyProxyMetrics extends metricsClass(PROXY_SERIES) {
  readonly registry: Registry;
  private usageCounters: LlmUsageCounters | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registry = createMetricsRegistry('privacy-proxy', {
      defaultMetrics: options.defaultMetrics ?? true,
    });
    super(registry);
    this.registry = registry;
  }

  /**
   * The usage series, declared by the governor that counts into them (a proxy without usage accounting
   * declares none, rather than series that never get a sample).
   */
  llmUsage(): LlmUsageCounters {
    this.usageCounters ??= declareSeries(this.registry, LLM_USAGE_SERIES);
    return this.usageCounters;
  }

  /** Gauges read from the detectors at scrape time: the org version in use and whether a newer one builds. */
  observeDetectors(status: () => DetectorStatus): void {
    const series = seriesOn(this.registry);
    series.gauge(
      'orgmesh_privacy_detector_org_version',
      'Org directory version the privacy detectors in use are built for (0 before the first build)',
      { read: () => status().inUse?.orgVersion ?? 0 },
    );
    series.gauge(
      'orgmesh_privacy_detector_building',
      '1 while detectors for a newer org directory are being built in the background, else 0',
      { read: () => (status().building ? 1 : 0) },
    );
  }
}
