import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { unexpectedErrorsCounter, UNEXPECTED_ERRORS } from './error-fields.js';
import { counterSeries, declareSeries, gaugeSeries, histogramSeries, metricsClass } from './metric-table.js';

const TABLE = {
  calls: counterSeries('orgmesh_test_calls_total', 'calls by kind and result', {
    labels: ['kind', 'result'],
  }),
  seconds: histogramSeries('orgmesh_test_call_seconds', 'call time', { labels: ['kind'], buckets: [0.1, 1] }),
  open: gaugeSeries('orgmesh_test_open', 'open things'),
  unexpectedErrors: unexpectedErrorsCounter,
};

class TestMetrics extends metricsClass(TABLE) {
  readonly extra: number;

  constructor(registry: Registry) {
    super(registry);
    this.extra = 1;
  }
}

describe('series tables', () => {
  it('declare each row on the registry, in the order of the table, as a field typed by its row', async () => {
    const registry = new Registry();
    const metrics = new TestMetrics(registry);
    metrics.calls.inc({ kind: 'a', result: 'ok' }, 2);
    // @ts-expect-error: the row declares no label `outcome`.
    expect(() => metrics.calls.inc({ kind: 'a', outcome: 'ok' })).toThrow();
    metrics.seconds.observe({ kind: 'a' }, 0.5);
    metrics.open.set(3);
    expect(metrics.extra).toBe(1);
    expect(registry.getSingleMetric(UNEXPECTED_ERRORS)).toBe(metrics.unexpectedErrors);
    expect((await registry.getMetricsAsJSON()).map((m) => m.name)).toEqual([
      'orgmesh_test_calls_total',
      'orgmesh_test_call_seconds',
      'orgmesh_test_open',
      UNEXPECTED_ERRORS,
    ]);
    const text = await registry.metrics();
    expect(text).toContain('orgmesh_test_calls_total{kind="a",result="ok"} 2');
    expect(text).toContain('orgmesh_test_call_seconds_bucket{le="1",kind="a"} 1');
    expect(text).toContain('orgmesh_test_open 3');
  });

  it('give every combination of the values known in advance a sample of 0, counters and gauges alike', async () => {
    const registry = new Registry();
    declareSeries(registry, {
      refused: counterSeries('orgmesh_test_refused_total', 'refusals', {
        labels: ['transport', 'code'],
        startAtZero: { transport: ['http', 'grpc'], code: ['unauthenticated', 'forbidden'] },
      }),
      open: gaugeSeries('orgmesh_test_subscriptions', 'open subscriptions', {
        labels: ['transport'],
        startAtZero: { transport: ['sse'] },
      }),
    });
    const text = await registry.metrics();
    for (const transport of ['http', 'grpc'])
      for (const code of ['unauthenticated', 'forbidden'])
        expect(text).toContain(`orgmesh_test_refused_total{transport="${transport}",code="${code}"} 0`);
    expect(text).toContain('orgmesh_test_subscriptions{transport="sse"} 0');
  });

  it('declare a table once per call: two registries get their own series', () => {
    const first = new Registry();
    const second = new Registry();
    const a = declareSeries(first, { calls: TABLE.calls });
    const b = declareSeries(second, { calls: TABLE.calls });
    expect(a.calls).not.toBe(b.calls);
    expect(first.getSingleMetric('orgmesh_test_calls_total')).toBe(a.calls);
    expect(second.getSingleMetric('orgmesh_test_calls_total')).toBe(b.calls);
  });
});
