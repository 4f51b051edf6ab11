import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { seriesOn, type CounterOptions, type GaugeOptions } from './metric-series.js';

/**
 * How one series of a service is declared on its registry: a row of a {@link SeriesTable}. Made by
 * {@link counterSeries}, {@link histogramSeries} and {@link gaugeSeries}, or any function that returns a
 * series of the registry, e.g. a series several parts of a process share (`unexpectedErrorsCounter`).
 */
export type SeriesDeclaration<T = unknown> = (registry: Registry) => T;

/** A service's series by the field that holds each one, in the order they are registered. */
export type SeriesTable = Readonly<Record<string, SeriesDeclaration>>;

/** The series a table declares, each typed by its row (a counter's labels, a shared series' type). */
export type DeclaredSeries<T extends SeriesTable> = { readonly [K in keyof T]: ReturnType<T[K]> };

/**
 * Label values known in advance, each label with its values: every combination gets a sample of 0 when
 * the series is declared, so a scrape shows it before the first event and a rate() over it does not
 * begin with a missing sample.
 */
export type StartAtZero<L extends string> = { readonly [K in L]: readonly string[] };

export interface CounterRowOptions<L extends string> extends CounterOptions<L> {
  readonly startAtZero?: StartAtZero<L>;
}

export interface GaugeRowOptions<L extends string> extends GaugeOptions<L> {
  readonly startAtZero?: StartAtZero<L>;
}

/** A counter row: `labels` type the counter (`Counter<'kind' | 'outcome'>`), none makes one unlabelled series. */
export function counterSeries<L extends string = string>(
  name: string,
  help: string,
  options: CounterRowOptions<L> = {},
): SeriesDeclaration<Counter<L>> {
  return startingAtZero((registry) => seriesOn(registry).counter(name, help, options), options.startAtZero);
}

/** A histogram row; `buckets` are upper bounds in the series' base unit (seconds, bytes). */
export function histogramSeries<L extends string = string>(
  name: string,
  help: string,
  options: { readonly labels?: readonly L[]; readonly buckets: readonly number[] },
): SeriesDeclaration<Histogram<L>> {
  return (registry) => seriesOn(registry).histogram(name, help, options);
}

/** A gauge row; its labelled values are set where they change, or read at scrape time (`read`, `collect`). */
export function gaugeSeries<L extends string = string>(
  name: string,
  help: string,
  options: GaugeRowOptions<L> = {},
): SeriesDeclaration<Gauge<L>> {
  return startingAtZero((registry) => seriesOn(registry).gauge(name, help, options), options.startAtZero);
}

/** Declares every row of `table` on `registry`, in the table's order. */
export function declareSeries<T extends SeriesTable>(registry: Registry, table: T): DeclaredSeries<T> {
  const declared: Record<string, unknown> = {};
  for (const [field, declare] of Object.entries(table)) declared[field] = declare(registry);
  return declared as DeclaredSeries<T>;
}

/**
 * The base class of a service's metrics: its constructor declares `table` on the registry it is given,
 * each series a readonly field named by its row (`class RegistryMetrics extends metricsClass(SERIES)`).
 * Names, help texts, labels and buckets are said once, in the table; the subclass adds only what
 * depends on the instance (series read from sources it is given later). A subclass never declares a
 * row's field again: a class field is defined on the instance after `super()` returns, so the
 * redeclared field would be reset to undefined.
 */
export function metricsClass<T extends SeriesTable>(table: T): new (registry: Registry) => DeclaredSeries<T> {
  return class {
    constructor(registry: Registry) {
      Object.assign(this, declareSeries(registry, table));
    }
  } as new (registry: Registry) => DeclaredSeries<T>;
}

/**
 * `declare`, then a sample of 0 for every combination of `values` (a counter's or a gauge's, both of
 * which `inc` by 0 to a new sample of 0).
 */
function startingAtZero<L extends string, S extends Counter<L> | Gauge<L>>(
  declare: SeriesDeclaration<S>,
  values: StartAtZero<L> | undefined,
): SeriesDeclaration<S> {
  return (registry) => {
    const series = declare(registry);
    for (const labels of combinations(values)) series.inc(labels, 0);
    return series;
  };
}

/** Every combination of the label values (one label set per combination); none without values. */
function combinations<L extends string>(values: StartAtZero<L> | undefined): Array<Record<L, string>> {
  if (!values) return [];
  let sets: Array<Record<string, string>> = [{}];
  for (const [label, labelValues] of Object.entries<readonly string[]>(values))
    sets = sets.flatMap((set) => labelValues.map((value) => ({ ...set, [label]: value })));
  return sets as Array<Record<L, string>>;
}
