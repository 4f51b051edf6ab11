import { appendFileSync } from 'node:fs';
import fc from 'fast-check';

/**
 * One budget and one report for every fuzz suite (issue 17). In `npm test` each edge runs a bounded
 * number of cases so CI stays fast; `npm run fuzz` (scripts/fuzz.mjs) sets FUZZ_LONG=1 with a time
 * budget per edge and FUZZ_REPORT, a JSON-lines file it summarises as cases/s and findings per edge.
 */
export interface FuzzBudget {
  readonly long: boolean;
  readonly numRuns: number;
  /** Wall-clock budget for one property in long mode; undefined in CI mode. */
  readonly timeLimitMs: number | undefined;
}

export function fuzzBudget(ciRuns: number): FuzzBudget {
  const long = process.env['FUZZ_LONG'] === '1';
  if (!long) return { long, numRuns: ciRuns, timeLimitMs: undefined };
  const seconds = Number(process.env['FUZZ_SECONDS'] ?? '60');
  return { long, numRuns: Number.MAX_SAFE_INTEGER, timeLimitMs: Math.max(1, seconds) * 1000 };
}

export interface FuzzEdgeResult {
  edge: string;
  cases: number;
  ms: number;
  failed: boolean;
  counterexample?: string;
}

function report(result: FuzzEdgeResult): void {
  const file = process.env['FUZZ_REPORT'];
  if (file) appendFileSync(file, `${JSON.stringify(result)}\n`);
}

/**
 * Runs an async property over `arbitrary` within the budget; throws fast-check's report (with the
 * shrunk counterexample and seed) on the first failing case. `edge` names the surface in reports,
 * e.g. `rest POST /v1/tasks` or `grpc orgmesh.v1.Sessions/CreateSession`.
 */
export async function fuzzEdge<T>(
  edge: string,
  arbitrary: fc.Arbitrary<T>,
  property: (value: T) => Promise<void>,
  options: { ciRuns: number; seed?: number },
): Promise<FuzzEdgeResult> {
  const budget = fuzzBudget(options.ciRuns);
  let cases = 0;
  const started = performance.now();
  // At its time limit fast-check abandons the case in flight without awaiting it. That case may
  // still write, answer or fail after fc.check returns; it is awaited here and counted like any other,
  // so a suite's "nothing stored that was not accepted" check sees it and a late failure is a finding.
  const inFlight = new Map<Promise<void>, T>();
  const details = await fc.check(
    fc.asyncProperty(arbitrary, async (value) => {
      cases += 1;
      const run = property(value);
      inFlight.set(run, value);
      try {
        await run;
      } finally {
        inFlight.delete(run);
      }
    }),
    {
      numRuns: budget.numRuns,
      ...(budget.timeLimitMs !== undefined
        ? { interruptAfterTimeLimit: budget.timeLimitMs, markInterruptAsFailure: false }
        : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
    },
  );
  let late: { value: T; error: unknown } | undefined;
  for (const [run, value] of [...inFlight]) {
    try {
      await run;
    } catch (error) {
      late ??= { value, error };
    }
  }
  const result: FuzzEdgeResult = {
    edge,
    cases,
    ms: Math.round(performance.now() - started),
    failed: details.failed || late !== undefined,
    ...(details.failed
      ? { counterexample: fc.stringify(details.counterexample) }
      : late
        ? { counterexample: fc.stringify([late.value]) }
        : {}),
  };
  report(result);
  if (!details.failed && late) {
    throw new Error(
      `fuzz ${edge}: the case in flight at the time limit failed (seed ${details.seed}):\n` +
        `counterexample: ${result.counterexample}\n${late.error instanceof Error ? (late.error.stack ?? late.error.message) : String(late.error)}`,
    );
  }
  if (details.failed) {
    throw new Error(
      `fuzz ${edge}: failed after ${details.numRuns} cases (seed ${details.seed}, path ${details.counterexamplePath}):\n` +
        `counterexample: ${result.counterexample}\n${details.errorInstance instanceof Error ? (details.errorInstance.stack ?? details.errorInstance.message) : String(details.errorInstance)}`,
    );
  }
  return result;
}

/** Strings that have broken edges before: NUL, lone surrogates, control and format characters, huge. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udfffy',
    '\u202e',
    '\u200b',
    'é',
    '💥',
    '\r\n',
    '%00',
    '../../etc/passwd',
    "'; DROP TABLE x; --",
    '',
    ' ',
    'null',
    '{"c":1,"i":"x"}',
    'x'.repeat(70_000),
  ),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 32 }),
  fc.string({ maxLength: 32 }),
);

/** JSON values nested `depth` levels deep, built iteratively (no stack use to build them). */
export function deepJson(depth: number, kind: 'array' | 'object' = 'object'): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i += 1) value = kind === 'array' ? [value] : { a: value };
  return value;
}

/** The same as text, for bodies whose nesting would overflow JSON.stringify. */
export function deepJsonText(depth: number, kind: 'array' | 'object' = 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}1${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}
