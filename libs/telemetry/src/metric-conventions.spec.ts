import { describe, expect, it } from '@jest/globals';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { createMetricsRegistry } from './health-server.js';
import { metricConventionViolations, parseExposition } from './metric-conventions.js';

describe('metricConventionViolations', () => {
  it('passes a service registry whose series follow the rules, runtime series included', async () => {
    const registry = createMetricsRegistry('sessions');
    new Counter({ name: 'orgmesh_things_total', help: 'things', registers: [registry] }).inc();
    new Histogram({ name: 'orgmesh_wait_seconds', help: 'wait', registers: [registry] }).observe(0.1);
    expect(await metricConventionViolations(registry)).toEqual([]);
  });

  it('names each broken rule', async () => {
    const registry = createMetricsRegistry('sessions', { defaultMetrics: false });
    new Counter({ name: 'privacy_proxy_requests_total', help: 'unprefixed', registers: [registry] }).inc();
    new Counter({ name: 'orgmesh_requests', help: 'counter without _total', registers: [registry] }).inc();
    new Gauge({ name: 'orgmesh_open_total', help: 'gauge with _total', registers: [registry] }).set(1);
    new Gauge({ name: 'orgmesh_hits', help: 'hits since start', registers: [registry] }).set(3);
    new Histogram({ name: 'orgmesh_wait_ms', help: 'not a base unit', registers: [registry] }).observe(5);
    new Counter({
      name: 'orgmesh_never_total',
      help: 'declared, never filled',
      labelNames: ['x'],
      registers: [registry],
    });
    expect(await metricConventionViolations(registry)).toEqual([
      'privacy_proxy_requests_total: lacks the orgmesh_ prefix',
      "orgmesh_requests: a counter's name must end in _total",
      'orgmesh_open_total: only counters end in _total (this is a gauge)',
      'orgmesh_hits: a count since start is a counter, not a gauge',
      'orgmesh_wait_ms: use base units in names (_seconds, _bytes)',
      'orgmesh_never_total: declared but has no sample',
    ]);
  });

  it('reads a /metrics scrape (Prometheus text) as it reads the registry', async () => {
    const registry = createMetricsRegistry('gateway');
    new Counter({
      name: 'orgmesh_requests',
      help: 'a "quoted" help',
      labelNames: ['route'],
      registers: [registry],
    }).inc({
      route: '/v1/tasks/{id}',
    });
    new Histogram({
      name: 'orgmesh_wait_ms',
      help: 'w',
      labelNames: ['route'],
      registers: [registry],
    }).observe({ route: 'a' }, 5);
    new Gauge({ name: 'orgmesh_open', help: 'o', labelNames: ['transport'], registers: [registry] });
    const fromText = await metricConventionViolations(await registry.metrics());
    expect(fromText).toEqual(await metricConventionViolations(registry));
    expect(fromText).toEqual([
      "orgmesh_requests: a counter's name must end in _total",
      'orgmesh_wait_ms: use base units in names (_seconds, _bytes)',
      'orgmesh_open: declared but has no sample',
    ]);
    const wait = parseExposition(await registry.metrics()).find(
      (family) => family.name === 'orgmesh_wait_ms',
    );
    expect(wait?.values.find((value) => value.labels['le'] === '+Inf')).toEqual({
      labels: { le: '+Inf', route: 'a', service: 'gateway' },
      value: 1,
    });
  });

  it('finds a series without the service label (a registry not made by createMetricsRegistry)', async () => {
    const registry = new Registry();
    new Counter({ name: 'orgmesh_things_total', help: 'things', registers: [registry] }).inc();
    expect(await metricConventionViolations(registry)).toEqual([
      'orgmesh_things_total: a sample lacks the service label',
    ]);
  });

  it('lets an event-only series stay empty, and only that one', async () => {
    const registry = createMetricsRegistry('gateway', { defaultMetrics: false });
    new Counter({ name: 'orgmesh_bugs_total', help: 'b', labelNames: ['edge'], registers: [registry] });
    new Counter({ name: 'orgmesh_other_total', help: 'o', labelNames: ['edge'], registers: [registry] });
    expect(await metricConventionViolations(registry, { eventOnly: ['orgmesh_bugs_total'] })).toEqual([
      'orgmesh_other_total: declared but has no sample',
    ]);
  });
});
