import { describe, expect, it } from '@jest/globals';
import { addKept } from './aggregating-writer.js';

interface Row {
  bucket: number;
  key: string;
  n: number;
}
const HOUR = 3_600_000;
const keyOf = (row: Row) => `${row.bucket}:${row.key}`;
const addTo = (prior: Row, row: Row) => {
  prior.n += row.n;
};

describe('addKept (the in-memory stores)', () => {
  it('sums rows of one key, keeps rows of other keys apart, and never keeps the caller’s objects', () => {
    const kept = new Map<string, Row>();
    const now = Math.floor(Date.now() / HOUR) * HOUR;
    const first = { bucket: now, key: 'a', n: 1 };
    addKept(kept, [first, { bucket: now, key: 'b', n: 2 }], 7 * 24 * HOUR, keyOf, addTo);
    addKept(kept, [{ bucket: now, key: 'a', n: 3 }], 7 * 24 * HOUR, keyOf, addTo);
    expect([...kept.values()]).toEqual([
      { bucket: now, key: 'a', n: 4 },
      { bucket: now, key: 'b', n: 2 },
    ]);
    expect(first.n).toBe(1);
  });

  it('neither adds nor keeps rows older than keepMs', () => {
    const kept = new Map<string, Row>();
    const now = Math.floor(Date.now() / HOUR) * HOUR;
    const old = now - 3 * HOUR;
    addKept(kept, [{ bucket: old, key: 'a', n: 1 }], 10 * HOUR, keyOf, addTo);
    expect(kept.size).toBe(1);
    // A shorter window on the next add: the old row is pruned, a new old row is not added.
    addKept(
      kept,
      [
        { bucket: old, key: 'b', n: 1 },
        { bucket: now, key: 'c', n: 1 },
      ],
      HOUR,
      keyOf,
      addTo,
    );
    expect([...kept.values()].map((row) => row.key)).toEqual(['c']);
  });
});
