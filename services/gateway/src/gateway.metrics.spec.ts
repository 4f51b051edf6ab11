import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { MessagingMetrics } from '@orgmesh/messaging';
import { createMetricsRegistry, metricConventionViolations, UNEXPECTED_ERRORS } from '@orgmesh/telemetry';
import { GatewayMetrics } from './gateway.metrics.js';

describe('gateway metrics', () => {
  it('share orgmesh_unexpected_errors_total with the bus, even when the bus counted first (it connects before)', async () => {
    const registry = new Registry();
    MessagingMetrics.of(registry).countUnexpected('nats-rpc', 'rpc.sessions.v1.get-session');
    const metrics = new GatewayMetrics(registry);
    metrics.unexpectedErrors.inc({ edge: 'grpc', subject: 'orgmesh.v1.Sessions/GetSession' });
    const text = await registry.metrics();
    expect(text).toMatch(
      /^orgmesh_unexpected_errors_total\{edge="nats-rpc",subject="rpc.sessions.v1.get-session"\} 1$/m,
    );
    expect(text).toMatch(
      /^orgmesh_unexpected_errors_total\{edge="grpc",subject="orgmesh.v1.Sessions\/GetSession"\} 1$/m,
    );
  });

  it('follow the naming rules; before any request only latency (labelled by route) and unexpected errors are empty', async () => {
    const registry = createMetricsRegistry('gateway');
    new GatewayMetrics(registry);
    expect(
      await metricConventionViolations(registry, {
        eventOnly: [
          UNEXPECTED_ERRORS,
          'orgmesh_gateway_http_request_duration_seconds',
          'orgmesh_gateway_grpc_request_duration_seconds',
        ],
      }),
    ).toEqual([]);
    expect(await registry.metrics()).toMatch(
      /^orgmesh_gateway_auth_failures_total\{transport="grpc",code="forbidden",service="gateway"\} 0$/m,
    );
  });
});
