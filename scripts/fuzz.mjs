#!/usr/bin/env node
// `npm run fuzz`: the long version of the fuzz suites in `npm test` (issue 17). Every fuzz property
// runs for FUZZ_SECONDS (default 60) instead of its CI case count; at the end one line per edge
// gives cases tried, cases/s and findings. Exits 1 if anything was found.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm run fuzz [-- --seconds N] [-- <jest path pattern>]

Runs every *fuzz* test file (unit and integration) with FUZZ_LONG=1: each fuzz property runs for
N seconds (default 60, or FUZZ_SECONDS) instead of its bounded CI case count, then prints cases
tried, cases per second and findings per edge. Needs NATS and Postgres like npm test.
Exit status: 0 nothing found, 1 a finding (the counterexample and seed are printed), 2 bad usage.`);
  process.exit(0);
}
let seconds = process.env.FUZZ_SECONDS ?? '60';
const patterns = [];
for (let i = 0; i < args.length; i += 1) {
  if (args[i] === '--seconds') {
    seconds = args[i + 1];
    i += 1;
  } else patterns.push(args[i]);
}
if (!/^\d+$/.test(String(seconds)) || Number(seconds) < 1) {
  console.error(`fuzz: --seconds must be a positive integer, got ${JSON.stringify(seconds)}`);
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'orgmesh-fuzz-'));
const reportFile = join(dir, 'report.jsonl');
console.log(`fuzz: ${seconds}s per edge; report ${reportFile}`);
const run = spawnSync(
  process.execPath,
  [
    '--experimental-vm-modules',
    'node_modules/jest/bin/jest.js',
    '--testPathPatterns',
    patterns.length ? patterns.join('|') : 'fuzz',
    '--testTimeout',
    String((Number(seconds) * 40 + 120) * 1000),
  ],
  { stdio: 'inherit', env: { ...process.env, FUZZ_LONG: '1', FUZZ_SECONDS: String(seconds), FUZZ_REPORT: reportFile } },
);
const rows = existsSync(reportFile)
  ? readFileSync(reportFile, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line))
  : [];
let findings = 0;
let total = 0;
console.log('\nedge | cases | cases/s | findings');
for (const row of rows) {
  total += row.cases;
  if (row.failed) findings += 1;
  const rate = row.ms > 0 ? Math.round((row.cases / row.ms) * 1000) : row.cases;
  console.log(`${row.edge} | ${row.cases} | ${rate} | ${row.failed ? `1: ${row.counterexample}` : 0}`);
}
console.log(`\n${rows.length} edges, ${total} cases, ${findings} findings`);
rmSync(dir, { recursive: true, force: true });
process.exit(findings > 0 || run.status !== 0 ? 1 : 0);
