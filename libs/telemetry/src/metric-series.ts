import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Label names of a series; none: one series without labels. */
export interface SeriesOptions<L extends string> {
  readonly labels?: readonly L[];
}

export interface CounterOptions<L extends string> extends SeriesOptions<L> {
  /** Runs at scrape time before the samples are read (`this` is the counter), e.g. to copy a total kept elsewhere. */
  readonly collect?: (this: Counter<L>) => void | Promise<void>;
}

export interface HistogramOptions<L extends string> extends SeriesOptions<L> {
  /** Upper bounds of the buckets, in the series' base unit (seconds, bytes). */
  readonly buckets: readonly number[];
}

export interface GaugeOptions<L extends string> extends SeriesOptions<L> {
  /**
   * The unlabelled gauge's value, read at scrape time: nothing is kept between scrapes, so the
   * value cannot go stale. A read that throws fails the scrape, as prom-client's collect does.
   */
  readonly read?: () => number | Promise<number>;
  /** Runs at scrape time before the samples are read (`this` is the gauge): labelled values read at scrape time. */
  readonly collect?: (this: Gauge<L>) => void | Promise<void>;
}

/**
 * Declares series on one registry, so each declaration says only what is its own (name, help,
 * labels, buckets, where a gauge reads its value) and none can forget the registry: a series
 * registered on prom-client's global registry would be served by no `/metrics` of ours (each
 * service has its own registry with its `service` label, ADR 0010).
 */
export class MetricSeries {
  constructor(readonly registry: Registry) {}

  counter<L extends string = string>(
    name: string,
    help: string,
    options: CounterOptions<L> = {},
  ): Counter<L> {
    return new Counter<L>({
      name,
      help,
      labelNames: options.labels ?? [],
      registers: [this.registry],
      ...(options.collect && { collect: options.collect }),
    });
  }

  /**
   * The one counter of `name` on this registry, declared by whichever part of the process asks
   * first (several edges or services of one process count into one series, e.g. unexpected errors).
   */
  sharedCounter<L extends string = string>(
    name: string,
    help: string,
    options: SeriesOptions<L> = {},
  ): Counter<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing instanceof Counter) return existing as Counter<L>;
    return this.counter(name, help, options);
  }

  histogram<L extends string = string>(
    name: string,
    help: string,
    options: HistogramOptions<L>,
  ): Histogram<L> {
    return new Histogram<L>({
      name,
      help,
      labelNames: options.labels ?? [],
      buckets: [...options.buckets],
      registers: [this.registry],
    });
  }

  gauge<L extends string = string>(name: string, help: string, options: GaugeOptions<L> = {}): Gauge<L> {
    const { read, collect } = options;
    return new Gauge<L>({
      name,
      help,
      labelNames: options.labels ?? [],
      registers: [this.registry],
      ...(collect && { collect }),
      ...(read && {
        async collect(this: Gauge<L>) {
          this.set(await read());
        },
      }),
    });
  }
}

/** The series declarations of `registry` (`seriesOn(registry).counter(…)`). */
export function seriesOn(registry: Registry): MetricSeries {
  return new MetricSeries(registry);
}

/**
 * `create`, called once per registry and remembered: for a lib's series that several parts of one
 * process share (two buses or relays on one service registry), where declaring them twice would
 * throw prom-client's duplicate-name error. The registry is held weakly, so a test's registry and
 * its series are collected with it.
 */
export function oncePerRegistry<T extends object>(
  create: (registry: Registry) => T,
): (registry: Registry) => T {
  const byRegistry = new WeakMap<Registry, T>();
  return (registry) => {
    let value = byRegistry.get(registry);
    if (!value) {
      value = create(registry);
      byRegistry.set(registry, value);
    }
    return value;
  };
}
