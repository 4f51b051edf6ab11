import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createMetricsRegistry, unexpectedErrorsCounter } from '@orgmesh/telemetry';
import type { DetectorStatus } from './privacy/detector-cache.js';

/** Usage accounting's series (issue 24). */
export interface LlmUsageCounters {
  /** Model calls answered by a provider, by provider, model, role and whether the usage was estimated. */
  readonly calls: Counter<'provider' | 'model' | 'role' | 'estimated'>;
  /** Tokens of those calls by type (input, output, cached_input). */
  readonly tokens: Counter<'provider' | 'model' | 'role' | 'type'>;
  /** Their cost by the price table (0 for models it does not price). */
  readonly cost: Counter<'provider' | 'model' | 'role'>;
}

/**
 * The proxy's Prometheus metrics, on their own registry (one per server instance), named like every
 * other service's: `orgmesh_privacy_proxy_*`, each sample labelled `service="privacy-proxy"`.
 */
export class PrivacyProxyMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'status'>;
  readonly duration: Histogram<'route'>;
  readonly overhead: Histogram<'route'>;
  readonly redactions: Counter<'entity_type' | 'action'>;
  readonly refusals: Counter<'route'>;
  readonly unscanned: Counter<'media_type'>;
  /** The series every orgmesh edge counts into (edge="http" here). */
  readonly unexpectedErrors: Counter<'edge' | 'subject'>;
  readonly upstreamErrors: Counter<'provider'>;
  /** One directory's detector build (index plus the detectors in use), by outcome (ok, error). */
  readonly detectorBuild: Histogram<'outcome'>;
  private usageCounters: LlmUsageCounters | undefined;
  /** Calls refused before the provider: budget, rate_limit, model_policy, store_unavailable. */
  readonly llmRefusals: Counter<'reason'>;
  readonly budgetWarnings: Counter;
  readonly budgetStoreErrors: Counter;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registry = createMetricsRegistry('privacy-proxy', {
      defaultMetrics: options.defaultMetrics ?? true,
    });
    this.registry = registry;
    this.requests = new Counter({
      name: 'orgmesh_privacy_proxy_requests_total',
      help: 'Requests by route and status',
      labelNames: ['route', 'status'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'orgmesh_privacy_proxy_request_duration_seconds',
      help: 'Request latency including the upstream (until the last byte for streams)',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
    this.overhead = new Histogram({
      name: 'orgmesh_privacy_proxy_processing_seconds',
      help: 'Time the proxy adds before forwarding: auth, parsing, detection and masking',
      labelNames: ['route'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
      registers: [registry],
    });
    this.redactions = new Counter({
      name: 'orgmesh_privacy_proxy_redactions_total',
      help: 'Detected entities by type and the action taken (mask, detect, strict)',
      labelNames: ['entity_type', 'action'],
      registers: [registry],
    });
    this.refusals = new Counter({
      name: 'orgmesh_privacy_proxy_refusals_total',
      help: 'Requests refused in strict mode',
      labelNames: ['route'],
      registers: [registry],
    });
    this.unscanned = new Counter({
      name: 'orgmesh_privacy_proxy_unscanned_total',
      help: 'Binary request parts forwarded unscanned by the profile (binary: allow), by media type',
      labelNames: ['media_type'],
      registers: [registry],
    });
    this.unexpectedErrors = unexpectedErrorsCounter(registry);
    this.upstreamErrors = new Counter({
      name: 'orgmesh_privacy_proxy_upstream_errors_total',
      help: 'Upstream failures (unreachable, timeouts, broken streams)',
      labelNames: ['provider'],
      registers: [registry],
    });
    this.detectorBuild = new Histogram({
      name: 'orgmesh_privacy_detector_build_seconds',
      help: 'Building the name detectors for a new org directory, off the request path (previous directory serves meanwhile)',
      labelNames: ['outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40],
      registers: [registry],
    });
    this.llmRefusals = new Counter({
      name: 'orgmesh_privacy_proxy_llm_refusals_total',
      help: 'Model calls refused before the provider by LLM governance: budget, rate_limit, model_policy, store_unavailable',
      labelNames: ['reason'],
      registers: [registry],
    });
    // Every reason has a series from the start, so that a rate over it is defined before the first refusal.
    for (const reason of ['budget', 'rate_limit', 'model_policy', 'store_unavailable'])
      this.llmRefusals.inc({ reason }, 0);
    this.budgetWarnings = new Counter({
      name: 'orgmesh_privacy_proxy_budget_warnings_total',
      help: 'Budget warning thresholds crossed (privacy.v1.budget-warning sent by this replica)',
      registers: [registry],
    });
    this.budgetStoreErrors = new Counter({
      name: 'orgmesh_privacy_proxy_budget_store_errors_total',
      help: 'Failed reads or writes of the shared budget counters (Postgres)',
      registers: [registry],
    });
  }

  /**
   * The usage series, declared by the governor that counts into them (a proxy without usage accounting
   * declares none, rather than series that never get a sample).
   */
  llmUsage(): LlmUsageCounters {
    const registry = this.registry;
    this.usageCounters ??= {
      calls: new Counter({
        name: 'orgmesh_privacy_proxy_llm_calls_total',
        help: 'Model calls a provider answered, by provider, model, role and estimated (usage counted by the tokenizer because the answer had none)',
        labelNames: ['provider', 'model', 'role', 'estimated'],
        registers: [registry],
      }),
      tokens: new Counter({
        name: 'orgmesh_privacy_proxy_llm_tokens_total',
        help: 'Tokens of model calls by type: input (cache reads and writes included), output, cached_input',
        labelNames: ['provider', 'model', 'role', 'type'],
        registers: [registry],
      }),
      cost: new Counter({
        name: 'orgmesh_privacy_proxy_llm_cost_usd_total',
        help: "Cost of model calls in US dollars by the proxy's price table (PRIVACY_LLM_PRICES over the shipped defaults)",
        labelNames: ['provider', 'model', 'role'],
        registers: [registry],
      }),
    };
    return this.usageCounters;
  }

  /** Gauges read from the detectors at scrape time: the org version in use and whether a newer one builds. */
  observeDetectors(status: () => DetectorStatus): void {
    new Gauge({
      name: 'orgmesh_privacy_detector_org_version',
      help: 'Org directory version the privacy detectors in use are built for (0 before the first build)',
      registers: [this.registry],
      collect() {
        this.set(status().inUse?.orgVersion ?? 0);
      },
    });
    new Gauge({
      name: 'orgmesh_privacy_detector_building',
      help: '1 while detectors for a newer org directory are being built in the background, else 0',
      registers: [this.registry],
      collect() {
        this.set(status().building ? 1 : 0);
      },
    });
  }
}
