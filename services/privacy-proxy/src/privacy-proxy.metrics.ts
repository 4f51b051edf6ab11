import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { unexpectedErrorsCounter } from '@orgmesh/telemetry';

/** The proxy's Prometheus metrics, on their own registry (one per server instance). */
export class PrivacyProxyMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'privacy_proxy_requests_total',
    help: 'Requests by route and status',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'privacy_proxy_request_duration_seconds',
    help: 'Request latency including the upstream (until the last byte for streams)',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly overhead = new Histogram({
    name: 'privacy_proxy_processing_seconds',
    help: 'Time the proxy adds before forwarding: auth, parsing, detection and masking',
    labelNames: ['route'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
    registers: [this.registry],
  });
  readonly redactions = new Counter({
    name: 'privacy_proxy_redactions_total',
    help: 'Detected entities by type and the action taken (mask, detect, strict)',
    labelNames: ['entity_type', 'action'] as const,
    registers: [this.registry],
  });
  readonly refusals = new Counter({
    name: 'privacy_proxy_refusals_total',
    help: 'Requests refused in strict mode',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });
  readonly unscanned = new Counter({
    name: 'privacy_proxy_unscanned_total',
    help: 'Binary request parts forwarded unscanned by the profile (binary: allow), by media type',
    labelNames: ['media_type'] as const,
    registers: [this.registry],
  });
  /** The series every orgmesh edge counts into (edge="http" here). */
  readonly unexpectedErrors = unexpectedErrorsCounter(this.registry);
  readonly upstreamErrors = new Counter({
    name: 'privacy_proxy_upstream_errors_total',
    help: 'Upstream failures (unreachable, timeouts, broken streams)',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }
}
