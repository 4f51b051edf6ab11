import type { BenchChild } from './privacy-proxy.child.js';
import { benchScale, LatencyHistogram, progress, round } from './harness.js';

/**
 * Brings freshly started proxies to the state a proxy in service is in before any figure is taken.
 *
 * A new proxy process is slower for its first ~15,000–30,000 requests, and its tail most: on 7 Dec 2026, a
 * fresh proxy's added p99 on the 4 KB request was 5.4 ms in its first 4 s, 3.0–4.0 ms up to 16 s,
 * then 1.7–2.1 ms from 20 s on; its CPU per request fell from 1.17 to 0.72 ms. V8 was still
 * compiling: 2,062 optimised compilations and 221 deoptimisations in the first 4 s (in the three
 * processes), 174 / 16, 56 / 7 and 206 / 10 in the next three 4-s windows, then 15 and fewer, with no
 * deoptimisation (`--trace-opt --trace-deopt`). Scavenges did not change (about one per 250 requests,
 * 1.4 ms each). The benches measured inside that window: a proxy is started by the bench, one in
 * service has run for hours. So every proxy the benches compare is driven first with the benches'
 * own requests (JSON and streams, one worker per proxy, all at once), and what the fresh proxy did
 * is printed and kept (`freshP99Ms`, the p99 of its first window) rather than dropped.
 *
 * How many: the p99 stopped falling after ~13,000 requests while the machine ran at its usual speed,
 * and only after ~28,000 when it ran ~20 % slower (CPU per request 0.88–0.92 ms instead of
 * 0.72–0.75: compilation takes longer too). Settled with 15,000 in such a phase, one run measured an
 * added p99 of 2.87 ms; with 30,000, 1.82 ms minutes later. `BENCH_PROXY_SETTLE_REQUESTS` (default
 * 30,000 per proxy, scaled by BENCH_SCALE, at least 1,000) sets it; 0 measures fresh proxies, as the
 * benches did before.
 */
export async function settleProxies(
  proxies: ReadonlyArray<{ readonly label: string; readonly child: BenchChild }>,
  call: {
    readonly json: (url: string) => Promise<unknown>;
    readonly stream: (url: string) => Promise<unknown>;
  },
): Promise<Map<BenchChild, { freshP99Ms: number; settledP99Ms: number }>> {
  const requests = settleRequests();
  const figures = new Map<BenchChild, { freshP99Ms: number; settledP99Ms: number }>();
  if (requests === 0) return figures;
  // Five windows: the first says what a fresh proxy does, the last what the measured rounds start from.
  const window = Math.ceil(requests / 5);
  const started = performance.now();
  await Promise.all(
    proxies.map(async ({ label, child }) => {
      const p99s: number[] = [];
      let histogram = new LatencyHistogram();
      for (let i = 1; i <= requests; i++) {
        // One stream in four: the stream relay is compiled along with the JSON path.
        if (i % 4 === 0) await call.stream(child.url);
        else {
          const t = performance.now();
          await call.json(child.url);
          histogram.record(performance.now() - t);
        }
        if (i % window === 0 || i === requests) {
          p99s.push(round(histogram.percentile(99), 2));
          histogram = new LatencyHistogram();
        }
      }
      figures.set(child, { freshP99Ms: p99s[0]!, settledP99Ms: p99s[p99s.length - 1]! });
      progress(
        `  ${label}: settled with ${requests} requests; p99 of its JSON calls per ${window} requests (fresh → settled): ${p99s.join(', ')} ms`,
      );
    }),
  );
  progress(`  settling took ${round((performance.now() - started) / 1000, 1)} s`);
  return figures;
}

function settleRequests(): number {
  const raw = process.env['BENCH_PROXY_SETTLE_REQUESTS'];
  const wanted = raw === undefined ? 30_000 : Number(raw);
  if (!Number.isFinite(wanted) || wanted < 0) {
    throw new Error(`BENCH_PROXY_SETTLE_REQUESTS must be a whole number ≥ 0, got ${raw}`);
  }
  if (wanted === 0) return 0;
  return Math.max(1000, Math.round(wanted * benchScale()));
}
