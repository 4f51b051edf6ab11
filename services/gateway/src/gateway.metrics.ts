import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { seriesOn, unexpectedErrorsCounter } from '@orgmesh/telemetry';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Prometheus series of the gateway. Route labels are templates (`/v1/sessions/{id}`), never raw paths. */
export class GatewayMetrics {
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly grpcDuration: Histogram<'method' | 'code'>;
  readonly rateLimited: Counter<'transport'>;
  readonly authFailures: Counter<'transport' | 'code'>;
  readonly subscriptions: Gauge<'transport'>;
  readonly eventsDelivered: Counter<'transport'>;
  /** Throws that reached an edge's last-resort boundary: each one is a bug, answered as `internal`. */
  readonly unexpectedErrors: Counter<'edge' | 'subject'>;

  constructor(registry: Registry) {
    const series = seriesOn(registry);
    this.httpDuration = series.histogram(
      'orgmesh_gateway_http_request_duration_seconds',
      'REST request latency by method, route template and status',
      { labels: ['method', 'route', 'status'], buckets: LATENCY_BUCKETS },
    );
    this.grpcDuration = series.histogram(
      'orgmesh_gateway_grpc_request_duration_seconds',
      'gRPC unary call latency by method and status code',
      { labels: ['method', 'code'], buckets: LATENCY_BUCKETS },
    );
    this.rateLimited = series.counter(
      'orgmesh_gateway_rate_limited_total',
      'requests refused by the per-client rate limit',
      { labels: ['transport'] },
    );
    this.authFailures = series.counter(
      'orgmesh_gateway_auth_failures_total',
      'requests refused as unauthenticated or forbidden',
      { labels: ['transport', 'code'] },
    );
    this.subscriptions = series.gauge(
      'orgmesh_gateway_event_subscriptions',
      'open event subscriptions (SSE and gRPC WatchEvents)',
      { labels: ['transport'] },
    );
    this.eventsDelivered = series.counter(
      'orgmesh_gateway_events_delivered_total',
      'lifecycle events written to subscribers',
      { labels: ['transport'] },
    );
    // Shared with the bus's nats-rpc/nats-event edges of this process, whichever registers first.
    this.unexpectedErrors = unexpectedErrorsCounter(registry);
    // The label values known in advance start at 0: a scrape shows the series before the first
    // refusal, and rate() over it does not begin with a missing sample.
    for (const transport of ['http', 'grpc']) {
      this.rateLimited.inc({ transport }, 0);
      for (const code of ['unauthenticated', 'forbidden']) this.authFailures.inc({ transport, code }, 0);
    }
    for (const transport of ['sse', 'grpc']) {
      this.subscriptions.set({ transport }, 0);
      this.eventsDelivered.inc({ transport }, 0);
    }
  }
}
