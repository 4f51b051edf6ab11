import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchScale, processMaxRssMb, progress, withRatios, type BenchResult } from './harness.js';

/**
 * `npm run bench`: runs every `*.bench.js` next to this file (each exports `run()`), prints a
 * table with ratios against the baselines measured in the same run, and writes
 * bench/results/latest.json. `--only <suite>[,<suite>]` runs some suites (file names without
 * `.bench.js`); the other suites' previous figures are kept in latest.json.
 */

/** A suite returns scenario results, or (older suites) a flat bag of named figures. */
type SuiteOutput = BenchResult[] | Record<string, number>;

interface SuiteReport {
  suite: string;
  startedAt: string;
  durationMs: number;
  results?: BenchResult[];
  metrics?: Record<string, number>;
  error?: string;
}

interface ResultsFile {
  updatedAt: string;
  environment: Record<string, string | number>;
  suites: Record<string, SuiteReport>;
}

const here = dirname(fileURLToPath(import.meta.url));
const resultsPath = join(here, '..', 'results', 'latest.json');

const USAGE = `usage: npm run bench [-- --only <suite>[,<suite>]]

Runs every suite in bench/ (or the named ones), each against a baseline measured in the same run,
prints a table per suite and writes bench/results/latest.json (the other suites' previous figures
are kept). Suites take from seconds to several minutes; progress goes to stderr.

  --only <suites>   comma-separated suite names (the *.bench.ts file names without .bench.ts)
  --help            this text and the suites

Environment: BENCH_SCALE (default 1) scales every suite's load; a suite's own BENCH_* settings are
described where it is (bench/src/<suite>.bench.ts) and in the README of the service it measures.`;

/** The command line, or a usage error (exit 2) that names the argument it did not understand. */
function parseArgs(argv: string[]): { only: string[]; help: boolean } | { error: string } {
  const only: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--only') {
      const value = argv[++i];
      if (value === undefined || value.startsWith('-')) return { error: '--only needs a suite name' };
      only.push(...value.split(','));
    } else if (arg.startsWith('--only=')) only.push(...arg.slice('--only='.length).split(','));
    else return { error: `unknown argument: ${arg}` };
  }
  return { only: only.map((s) => s.trim()).filter(Boolean), help };
}

function isResultList(output: unknown): output is BenchResult[] {
  return (
    Array.isArray(output) &&
    output.every((r) => typeof r === 'object' && r !== null && 'name' in r && 'throughput' in r)
  );
}

function pad(value: string, width: number, right = false): string {
  return right ? value.padStart(width) : value.padEnd(width);
}

function fmt(value: number | undefined, digits = 2): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  // Sub-microsecond latencies (in-process scenarios) keep two significant digits instead of "0.00".
  if (value !== 0 && Math.abs(value) < 0.01) return value.toPrecision(2);
  return value.toFixed(digits);
}

function printResults(report: SuiteReport): void {
  const lines: string[] = [`\n## ${report.suite}`];
  if (report.error) lines.push(`  FAILED: ${report.error}`);
  if (report.results?.length) {
    const header = ['scenario', 'c', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'rss MB', 'vs baseline'];
    const rows = report.results.map((r) => [
      r.name,
      String(r.concurrency),
      fmt(r.throughput, 0),
      fmt(r.latencyMs.p50),
      fmt(r.latencyMs.p95),
      fmt(r.latencyMs.p99),
      fmt(r.peakRssMb, 0),
      r.ratio && r.baseline
        ? `${fmt(r.ratio.throughput)}× thr, ${fmt(r.ratio.p50)}× p50, ${fmt(r.ratio.p99)}× p99 (${r.baseline})`
        : r.errors
          ? `${r.errors} errors`
          : '',
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
    const render = (cells: string[]) =>
      cells.map((c, i) => pad(c, widths[i] ?? 0, i > 0 && i < 7)).join('  ');
    lines.push(
      `  ${render(header)}`,
      `  ${widths.map((w) => '-'.repeat(w)).join('  ')}`,
      ...rows.map((row) => `  ${render(row)}`),
    );
  }
  if (report.metrics) {
    const width = Math.max(...Object.keys(report.metrics).map((k) => k.length));
    for (const [key, value] of Object.entries(report.metrics))
      lines.push(`  ${pad(key, width)}  ${fmt(value, 3)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function readPrevious(): Promise<ResultsFile | undefined> {
  try {
    return JSON.parse(await readFile(resultsPath, 'utf8')) as ResultsFile;
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const files = (await readdir(here)).filter((f) => f.endsWith('.bench.js')).sort();
  const suites = files.map((f) => ({ file: f, suite: f.slice(0, -'.bench.js'.length) }));
  if ('error' in args) {
    process.stderr.write(`bench: ${args.error}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n\nsuites: ${suites.map((s) => s.suite).join(', ')}\n`);
    return 0;
  }
  const { only } = args;
  const selected = only.length ? suites.filter((s) => only.includes(s.suite)) : suites;
  if (only.length && selected.length === 0) {
    progress(`no suite named ${only.join(', ')}; available: ${suites.map((s) => s.suite).join(', ')}`);
    return 2;
  }
  progress(
    `bench: ${selected.length} suite(s): ${selected.map((s) => s.suite).join(', ')} (BENCH_SCALE=${benchScale()})`,
  );

  const reports: SuiteReport[] = [];
  for (const { file, suite } of selected) {
    progress(`▶ ${suite}`);
    const started = Date.now();
    const report: SuiteReport = { suite, startedAt: new Date(started).toISOString(), durationMs: 0 };
    try {
      const mod = (await import(pathToFileURL(join(here, file)).href)) as {
        run?: () => Promise<SuiteOutput>;
      };
      if (typeof mod.run !== 'function') throw new Error(`${file} does not export run()`);
      const output = await mod.run();
      if (isResultList(output)) report.results = withRatios(output);
      else report.metrics = output as Record<string, number>;
    } catch (error) {
      report.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
      progress(`  ✗ ${suite} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    report.durationMs = Date.now() - started;
    progress(`  ${suite} done in ${(report.durationMs / 1000).toFixed(1)} s`);
    reports.push(report);
    printResults(report);
  }

  const previous = await readPrevious();
  const file: ResultsFile = {
    updatedAt: new Date().toISOString(),
    environment: {
      node: process.version,
      host: hostname(),
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      benchScale: benchScale(),
      processMaxRssMb: processMaxRssMb(),
    },
    suites: { ...(previous?.suites ?? {}), ...Object.fromEntries(reports.map((r) => [r.suite, r])) },
  };
  await mkdir(dirname(resultsPath), { recursive: true });
  await writeFile(resultsPath, `${JSON.stringify(file, null, 2)}\n`);
  progress(`\nwrote ${resultsPath}`);
  return reports.some((r) => r.error) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    progress(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
