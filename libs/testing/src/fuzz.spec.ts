import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { fuzzEdge } from './fuzz.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('fuzzEdge in long mode', () => {
  // These edges fail on purpose: under `npm run fuzz` they must not land in the run's report.
  const saved = { ...process.env };
  beforeEach(() => {
    process.env['FUZZ_LONG'] = '1';
    process.env['FUZZ_SECONDS'] = '1';
    delete process.env['FUZZ_REPORT'];
  });
  afterEach(() => {
    for (const key of ['FUZZ_LONG', 'FUZZ_SECONDS', 'FUZZ_REPORT']) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });

  it('awaits and counts the case fast-check abandons at its time limit', async () => {
    let finished = 0;
    const result = await fuzzEdge(
      'slow cases',
      fc.nat(),
      async () => {
        await sleep(300);
        finished += 1;
      },
      { ciRuns: 1 },
    );
    // Every case that started has finished by the time fuzzEdge returns: none is left writing.
    expect(result.cases).toBeGreaterThanOrEqual(3);
    expect(finished).toBe(result.cases);
    expect(result.failed).toBe(false);
  });

  it('reports a failure of the abandoned case as a finding', async () => {
    const started = Date.now();
    await expect(
      fuzzEdge(
        'fails late',
        fc.nat(),
        async () => {
          // Only the case still running at the time limit fails, after fast-check has let it go.
          if (Date.now() - started > 700) {
            await sleep(600);
            throw new Error('late failure');
          }
          await sleep(100);
        },
        { ciRuns: 1 },
      ),
    ).rejects.toThrow(/the case in flight at the time limit failed[\s\S]*late failure/);
  });
});
