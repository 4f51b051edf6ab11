/**
 * The arithmetic of the Privacy and Usage pages, kept out of the components so it is tested on its
 * own (console-logic.spec.ts): which time range and bucket to ask for, the totals per row of the
 * table, and one bar per hour or day of the range (empty buckets included, so gaps show as gaps).
 */

export type Bucket = 'hour' | 'day';
export const RANGES = [
  { id: '24h', label: 'Last 24 hours', hours: 24, bucket: 'hour' },
  { id: '7d', label: 'Last 7 days', hours: 7 * 24, bucket: 'day' },
  { id: '30d', label: 'Last 30 days', hours: 30 * 24, bucket: 'day' },
] as const;
export type RangeId = (typeof RANGES)[number]['id'];

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** One row of GET /v1/privacy/redactions. */
export interface RedactionRow {
  bucket: string;
  role: string;
  entityType: string;
  masked: number;
  passed: number;
  refused: number;
}

/** One row of GET /v1/usage. */
export interface UsageRow {
  hour: string;
  agentId: string;
  role: string;
  model: string;
  provider: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/** The query of a range: ISO `from`/`to` and the bucket (hours for a day, UTC days beyond). */
export function rangeQuery(id: RangeId, now: number): { from: string; to: string; bucket: Bucket } {
  const range = RANGES.find((r) => r.id === id) ?? RANGES[0];
  const to = now;
  const from =
    range.bucket === 'day'
      ? startOf('day', now) - (range.hours / 24 - 1) * DAY_MS
      : now - range.hours * HOUR_MS;
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), bucket: range.bucket };
}

/** `?a=1&b=2` of the values that are set (blank filters are left out). */
export function queryString(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === '') continue;
    search.set(key, String(value).trim());
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export function startOf(bucket: Bucket, t: number): number {
  const size = bucket === 'day' ? DAY_MS : HOUR_MS;
  return Math.floor(t / size) * size;
}

export interface RedactionTotalsRow {
  role: string;
  entityType: string;
  masked: number;
  passed: number;
  refused: number;
  total: number;
}

/** Totals per role × entity type over the whole range (role, then most findings first), and the sum. */
export function redactionTable(rows: readonly RedactionRow[]): {
  rows: RedactionTotalsRow[];
  sum: Omit<RedactionTotalsRow, 'role' | 'entityType'>;
} {
  const byKey = new Map<string, RedactionTotalsRow>();
  const sum = { masked: 0, passed: 0, refused: 0, total: 0 };
  for (const r of rows) {
    const key = `${r.role}\u0000${r.entityType}`;
    const t = byKey.get(key) ?? {
      role: r.role,
      entityType: r.entityType,
      masked: 0,
      passed: 0,
      refused: 0,
      total: 0,
    };
    t.masked += r.masked;
    t.passed += r.passed;
    t.refused += r.refused;
    t.total += r.masked + r.passed + r.refused;
    byKey.set(key, t);
    sum.masked += r.masked;
    sum.passed += r.passed;
    sum.refused += r.refused;
    sum.total += r.masked + r.passed + r.refused;
  }
  const sorted = [...byKey.values()].sort(
    (a, b) => a.role.localeCompare(b.role) || b.total - a.total || a.entityType.localeCompare(b.entityType),
  );
  return { rows: sorted, sum };
}

/** One bar: its bucket and named parts (stacked in this order). */
export interface SeriesPoint {
  at: string;
  parts: number[];
  total: number;
}

/**
 * One point per bucket from `from` to `to`, oldest first, each the sum of the rows in it (`parts`
 * picks the stacked values of a row). Rows outside the range are left out.
 */
export function series<R>(
  rows: readonly R[],
  range: { from: string; to: string; bucket: Bucket },
  at: (row: R) => string,
  parts: (row: R) => number[],
): SeriesPoint[] {
  const size = range.bucket === 'day' ? DAY_MS : HOUR_MS;
  const first = startOf(range.bucket, Date.parse(range.from));
  const last = startOf(range.bucket, Date.parse(range.to));
  const points = new Map<number, SeriesPoint>();
  for (let t = first; t <= last && points.size < 1000; t += size)
    points.set(t, { at: new Date(t).toISOString(), parts: [], total: 0 });
  for (const row of rows) {
    const point = points.get(startOf(range.bucket, Date.parse(at(row))));
    if (!point) continue;
    const values = parts(row);
    values.forEach((v, i) => (point.parts[i] = (point.parts[i] ?? 0) + v));
    point.total += values.reduce((n, v) => n + v, 0);
  }
  return [...points.values()];
}

export type UsageGroup = 'agentId' | 'role' | 'model';

export interface UsageTotalsRow {
  key: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/** Usage per agent, role or model over the range (most expensive first, then most tokens), and the sum. */
export function usageTable(
  rows: readonly UsageRow[],
  by: UsageGroup,
): { rows: UsageTotalsRow[]; sum: Omit<UsageTotalsRow, 'key'> } {
  const byKey = new Map<string, UsageTotalsRow>();
  const sum = { requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
  for (const r of rows) {
    const key = r[by] || '—';
    const t = byKey.get(key) ?? { key, requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
    for (const target of [t, sum]) {
      target.requests += r.requests;
      target.inputTokens += r.inputTokens;
      target.outputTokens += r.outputTokens;
      target.costUsd += r.costUsd;
    }
    byKey.set(key, t);
  }
  const sorted = [...byKey.values()].sort(
    (a, b) =>
      b.costUsd - a.costUsd ||
      b.inputTokens + b.outputTokens - (a.inputTokens + a.outputTokens) ||
      a.key.localeCompare(b.key),
  );
  return { rows: sorted, sum };
}

const COUNT = new Intl.NumberFormat('en-US');

export function formatCount(n: number): string {
  return COUNT.format(n);
}

/** Dollars: cents from a cent up, else up to six decimals (a model call costs micro-dollars). */
export function formatUsd(n: number): string {
  if (n === 0) return '$0';
  if (Math.abs(n) >= 0.01) return `$${n.toFixed(2)}`;
  return `$${n.toFixed(6).replace(/0+$/, '')}`;
}

/** The label of a bar's bucket: `09:00` for hours, `Mar 2` for days (UTC, as the gateway buckets). */
export function bucketLabel(at: string, bucket: Bucket): string {
  const d = new Date(at);
  if (bucket === 'hour') return `${String(d.getUTCHours()).padStart(2, '0')}:00`;
  return d.toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
}
