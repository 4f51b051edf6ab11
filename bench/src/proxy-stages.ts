import { subscribe } from 'node:diagnostics_channel';

/**
 * Where a proxied request's time goes inside the proxy process (`BENCH_PROXY_STAGES=1`): from the
 * request's arrival to the upstream call, the upstream leg (call made → its answer read, which
 * holds the upstream's work and a wake-up of each process), and from there to the answer's end.
 * Timed from node:http's and undici's diagnostics channels, so the proxy's code is measured as
 * shipped. One request at a time (the c=1 scenarios): with more in flight the events interleave.
 */
export interface StageReport {
  readonly requests: number;
  /** p50 / p90 / p99 in ms of each stage, and how often it was the one furthest above its median among the slowest 1 %. */
  readonly stages: Record<StageName, { p50: number; p90: number; p99: number; slowest: number }>;
}

type StageName = 'before upstream' | 'upstream leg' | 'after upstream' | 'total';
const STAGES: readonly StageName[] = ['before upstream', 'upstream leg', 'after upstream'];

interface Timing {
  start: number;
  call?: number;
  answered?: number;
}

/** Starts timing in this process; `report` covers what was timed since the last `reset`. */
export function startStageClock(): { reset(): void; report(): StageReport } {
  let rows: Array<Record<StageName, number>> = [];
  let current: Timing | undefined;
  subscribe('http.server.request.start', () => {
    current = { start: performance.now() };
  });
  subscribe('undici:request:create', () => {
    if (current) current.call = performance.now();
  });
  subscribe('undici:request:trailers', () => {
    if (current) current.answered = performance.now();
  });
  subscribe('http.server.response.finish', () => {
    const t = current;
    current = undefined;
    if (!t?.call || !t.answered) return;
    const end = performance.now();
    rows.push({
      'before upstream': t.call - t.start,
      'upstream leg': t.answered - t.call,
      'after upstream': end - t.answered,
      total: end - t.start,
    });
  });
  return {
    reset: () => {
      rows = [];
    },
    report: () => summarise(rows),
  };
}

function summarise(rows: Array<Record<StageName, number>>): StageReport {
  const at = (values: number[], p: number) =>
    values[Math.min(values.length - 1, Math.floor(values.length * p))] ?? 0;
  const sorted = Object.fromEntries(
    [...STAGES, 'total' as const].map((name) => [name, rows.map((r) => r[name]).sort((a, b) => a - b)]),
  ) as Record<StageName, number[]>;
  const median = (name: StageName) => at(sorted[name], 0.5);
  const slowest = [...rows].sort((a, b) => b.total - a.total).slice(0, Math.ceil(rows.length / 100));
  const blame = new Map<StageName, number>();
  for (const row of slowest) {
    const worst = [...STAGES].sort((a, b) => row[b] - median(b) - (row[a] - median(a)))[0]!;
    blame.set(worst, (blame.get(worst) ?? 0) + 1);
  }
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  const stages = Object.fromEntries(
    Object.entries(sorted).map(([name, values]) => {
      return [
        name,
        {
          p50: round(at(values, 0.5)),
          p90: round(at(values, 0.9)),
          p99: round(at(values, 0.99)),
          slowest: blame.get(name as StageName) ?? 0,
        },
      ];
    }),
  ) as StageReport['stages'];
  return { requests: rows.length, stages };
}
