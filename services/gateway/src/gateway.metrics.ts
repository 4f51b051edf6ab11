import {
  counterSeries,
  gaugeSeries,
  histogramSeries,
  metricsClass,
  unexpectedErrorsCounter,
} from '@orgmesh/telemetry';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

// The label values known in advance start at 0: a scrape shows the series before the first
// refusal, and rate() over it does not begin with a missing sample.
const REFUSING_TRANSPORTS = ['http', 'grpc'];
const EVENT_TRANSPORTS = ['sse', 'grpc'];

const GATEWAY_SERIES = {
  httpDuration: histogramSeries(
    'orgmesh_gateway_http_request_duration_seconds',
    'REST request latency by method, route template and status',
    { labels: ['method', 'route', 'status'], buckets: LATENCY_BUCKETS },
  ),
  grpcDuration: histogramSeries(
    'orgmesh_gateway_grpc_request_duration_seconds',
    'gRPC unary call latency by method and status code',
    { labels: ['method', 'code'], buckets: LATENCY_BUCKETS },
  ),
  rateLimited: counterSeries(
    'orgmesh_gateway_rate_limited_total',
    'requests refused by the per-client rate limit',
    { labels: ['transport'], startAtZero: { transport: REFUSING_TRANSPORTS } },
  ),
  authFailures: counterSeries(
    'orgmesh_gateway_auth_failures_total',
    'requests refused as unauthenticated or forbidden',
    {
      labels: ['transport', 'code'],
      startAtZero: { transport: REFUSING_TRANSPORTS, code: ['unauthenticated', 'forbidden'] },
    },
  ),
  subscriptions: gaugeSeries(
    'orgmesh_gateway_event_subscriptions',
    'open event subscriptions (SSE and gRPC WatchEvents)',
    { labels: ['transport'], startAtZero: { transport: EVENT_TRANSPORTS } },
  ),
  eventsDelivered: counterSeries(
    'orgmesh_gateway_events_delivered_total',
    'lifecycle events written to subscribers',
    { labels: ['transport'], startAtZero: { transport: EVENT_TRANSPORTS } },
  ),
  /**
   * Throws that reached an edge's last-resort boundary: each one is a bug, answered as `internal`.
   * Shared with the bus's nats-rpc/nats-event edges of this process, whichever registers first.
   */
  unexpectedErrors: unexpectedErrorsCounter,
};

/** Prometheus series of the gateway. Route labels are templates (`/v1/sessions/{id}`), never raw paths. */
export class GatewayMetrics extends metricsClass(GATEWAY_SERIES) {}
