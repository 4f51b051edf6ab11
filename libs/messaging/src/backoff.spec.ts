import { describe, expect, it } from '@jest/globals';
import { DEFAULT_BACKOFF_MS, nakDelayMs, retryDelayMs } from './backoff.js';

describe('nak backoff', () => {
  it('follows the list by delivery attempt, then repeats the last entry', () => {
    expect(DEFAULT_BACKOFF_MS).toEqual([100, 500, 2000, 5000]);
    expect([1, 2, 3, 4, 5, 9].map((n) => nakDelayMs(n))).toEqual([100, 500, 2000, 5000, 5000, 5000]);
    expect(nakDelayMs(2, [10, 20])).toBe(20);
    expect(nakDelayMs(0, [10, 20])).toBe(10);
    expect(nakDelayMs(3, [])).toBe(0);
  });
});

describe('infrastructure retry delay', () => {
  it('doubles from the base up to the cap, with at most 20 % jitter below', () => {
    const exact = (attempt: number) => retryDelayMs(attempt, { baseMs: 100, maxMs: 1000, random: () => 0 });
    expect([1, 2, 3, 4, 5, 50].map(exact)).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(retryDelayMs(1, { baseMs: 100, random: () => 1 })).toBe(80);
  });
});
