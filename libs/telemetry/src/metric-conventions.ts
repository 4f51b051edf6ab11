import type { Registry } from 'prom-client';

/** The one prefix of orgmesh's own series. */
export const METRIC_PREFIX = 'orgmesh_';

/**
 * Node's runtime series from prom-client's `collectDefaultMetrics`, under the names every Node.js
 * dashboard already queries (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`, …): kept
 * as prom-client names them on purpose, and held only to the `service` label (ADR 0010).
 */
const RUNTIME_PREFIXES = ['process_', 'nodejs_'];

/** Unit suffixes that are not base units (Prometheus: seconds, bytes), as a name's last words. */
const NON_BASE_UNITS =
  /_(ms|millis|milliseconds|us|micros|microseconds|ns|nanoseconds|minutes|hours|days|kb|kilobytes|mb|megabytes|gb|gigabytes|bits)(_total|_bucket|_sum|_count)?$/;

export interface MetricConventionOptions {
  /**
   * Series allowed to have no sample yet: counters whose label values (a subject, a durable
   * consumer) only exist once the event happens, e.g. unexpected errors. Every other series must
   * have at least one sample once the service has served a representative request.
   */
  readonly eventOnly?: readonly string[];
  /** Check that every series has a sample (after a representative request); default true. */
  readonly requireSamples?: boolean;
}

/**
 * What breaks orgmesh's metric naming rules in `source` — a registry, or the Prometheus text a
 * `/metrics` scrape returned (ADR 0010), one line per problem, empty
 * when none: the `orgmesh_` prefix (runtime series aside), `_total` on counters and only on them,
 * base units in names, no gauge of a count since start (that is a counter), a `service` label on
 * every sample, and no declared series without samples (unless `eventOnly`).
 */
export async function metricConventionViolations(
  source: Registry | string,
  options: MetricConventionOptions = {},
): Promise<string[]> {
  const eventOnly = new Set(options.eventOnly ?? []);
  const problems: string[] = [];
  const families = typeof source === 'string' ? parseExposition(source) : await source.getMetricsAsJSON();
  for (const metric of families) {
    const { name, type, help } = metric as { name: string; type: string; help: string };
    const values = (metric as { values: Array<{ labels: Record<string, unknown> }> }).values;
    if (values.some((value) => typeof value.labels['service'] !== 'string' || value.labels['service'] === ''))
      problems.push(`${name}: a sample lacks the service label`);
    // prom-client's names are kept as they are, its quirks too (`nodejs_active_handles_total` is a
    // gauge, `nodejs_gc_duration_seconds` fills on the first collection): only the label is ours.
    if (RUNTIME_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    if (!name.startsWith(METRIC_PREFIX)) problems.push(`${name}: lacks the ${METRIC_PREFIX} prefix`);
    if (type === 'counter' && !name.endsWith('_total'))
      problems.push(`${name}: a counter's name must end in _total`);
    if (type !== 'counter' && name.endsWith('_total'))
      problems.push(`${name}: only counters end in _total (this is a ${type})`);
    if (NON_BASE_UNITS.test(name)) problems.push(`${name}: use base units in names (_seconds, _bytes)`);
    if (type === 'gauge' && /\bsince (the )?start\b/i.test(help))
      problems.push(`${name}: a count since start is a counter, not a gauge`);
    if ((options.requireSamples ?? true) && values.length === 0 && !eventOnly.has(name))
      problems.push(`${name}: declared but has no sample`);
  }
  return problems;
}

export interface MetricFamily {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly values: Array<{ labels: Record<string, string>; value: number }>;
}

/**
 * The families of a Prometheus text exposition (what `/metrics` answers), in the shape of
 * `Registry.getMetricsAsJSON()`: each sample (`_bucket`, `_sum`, `_count` included) belongs to the
 * family whose `# TYPE` line it follows.
 */
export function parseExposition(text: string): MetricFamily[] {
  const families: MetricFamily[] = [];
  const helps = new Map<string, string>();
  for (const line of text.split('\n')) {
    const help = /^# HELP (\S+) (.*)$/.exec(line);
    if (help) {
      helps.set(help[1] as string, help[2] as string);
      continue;
    }
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      const name = type[1] as string;
      families.push({ name, type: type[2] as string, help: helps.get(name) ?? '', values: [] });
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    const family = families.at(-1);
    if (!sample || !family || !(sample[1] as string).startsWith(family.name)) continue;
    const labels = Object.fromEntries(
      [...(sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [
        m[1],
        m[2],
      ]),
    ) as Record<string, string>;
    family.values.push({ labels, value: Number(sample[3]) });
  }
  return families;
}
