import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { oncePerRegistry, seriesOn } from './metric-series.js';

describe('seriesOn', () => {
  it('declares counters, histograms and gauges on the registry only, with their labels and buckets', async () => {
    const registry = new Registry();
    const series = seriesOn(registry);
    series
      .counter('orgmesh_test_calls_total', 'calls by result', { labels: ['result'] })
      .inc({ result: 'ok' }, 2);
    series
      .histogram('orgmesh_test_call_seconds', 'call time', { labels: ['kind'], buckets: [0.1, 1] })
      .observe({ kind: 'a' }, 0.5);
    series.gauge('orgmesh_test_open', 'open things').set(3);

    const text = await registry.metrics();
    expect(text).toContain('# TYPE orgmesh_test_calls_total counter');
    expect(text).toContain('orgmesh_test_calls_total{result="ok"} 2');
    expect(text).toContain('orgmesh_test_call_seconds_bucket{le="0.1",kind="a"} 0');
    expect(text).toContain('orgmesh_test_call_seconds_bucket{le="1",kind="a"} 1');
    expect(text).toContain('orgmesh_test_open 3');
    // Nothing reached prom-client's global registry, which no /metrics of ours serves.
    const { register } = await import('prom-client');
    expect(register.getSingleMetric('orgmesh_test_calls_total')).toBeUndefined();
  });

  it("reads a gauge's value at each scrape, and runs a counter's collect before it is read", async () => {
    const registry = new Registry();
    const series = seriesOn(registry);
    let people = 1;
    series.gauge('orgmesh_test_people', 'people', { read: async () => people });
    let total = 5;
    const copied = series.counter('orgmesh_test_copied_total', 'a total kept elsewhere', {
      collect() {
        this.reset();
        this.inc(total);
      },
    });
    expect(await registry.metrics()).toMatch(/orgmesh_test_people 1\n[\s\S]*orgmesh_test_copied_total 5/);
    people = 7;
    total = 9;
    expect(await registry.metrics()).toMatch(/orgmesh_test_people 7\n[\s\S]*orgmesh_test_copied_total 9/);
    expect((await copied.get()).values[0]?.value).toBe(9);
  });

  it('refuses a second series of one name on one registry (prom-client), which oncePerRegistry avoids', () => {
    const registry = new Registry();
    seriesOn(registry).counter('orgmesh_test_once_total', 'once');
    expect(() => seriesOn(registry).counter('orgmesh_test_once_total', 'once')).toThrow(
      /already been registered/,
    );

    let created = 0;
    const of = oncePerRegistry((r) => {
      created += 1;
      return { total: seriesOn(r).counter('orgmesh_test_shared_total', 'shared') };
    });
    const other = new Registry();
    expect(of(registry)).toBe(of(registry));
    expect(of(other)).not.toBe(of(registry));
    expect(created).toBe(2);
  });
});

describe('sharedCounter', () => {
  it('is the one counter of its name on a registry, whoever declares it first', () => {
    const registry = new Registry();
    const first = seriesOn(registry).sharedCounter('orgmesh_test_shared_errors_total', 'errors', {
      labels: ['edge'],
    });
    const second = seriesOn(registry).sharedCounter('orgmesh_test_shared_errors_total', 'errors', {
      labels: ['edge'],
    });
    expect(second).toBe(first);
    expect(seriesOn(new Registry()).sharedCounter('orgmesh_test_shared_errors_total', 'errors')).not.toBe(
      first,
    );
  });
});
