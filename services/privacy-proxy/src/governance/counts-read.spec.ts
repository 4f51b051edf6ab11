import { describe, expect, it } from '@jest/globals';
import { readCounts, totalsOf } from './counts-read.js';

describe('reads of counts', () => {
  it('flush this replica first, read one row past the limit, and answer the range read', async () => {
    const calls: string[] = [];
    const recorder = { flush: async () => void calls.push('flush') };
    const now = () => Date.parse('2026-03-02T12:00:00Z');
    const query = async (range: { from: number; to: number }, limit: number) => {
      calls.push(`query ${new Date(range.from).toISOString()} ${new Date(range.to).toISOString()} ${limit}`);
      return [1, 2, 3];
    };
    expect(await readCounts({ recorder, now }, { limit: 2 }, query)).toEqual({
      rows: [1, 2],
      truncated: true,
      from: '2026-03-01T12:00:00.000Z',
      to: '2026-03-02T12:00:00.000Z',
    });
    expect(calls).toEqual(['flush', 'query 2026-03-01T12:00:00.000Z 2026-03-02T12:00:00.000Z 3']);
    const all = await readCounts({ now }, { limit: 3, from: '2026-03-02T00:00:00Z' }, query);
    expect(all).toMatchObject({ rows: [1, 2, 3], truncated: false, from: '2026-03-02T00:00:00.000Z' });
  });

  it('refuse a range whose from is after its to, before anything is flushed or read', async () => {
    let touched = false;
    const recorder = { flush: async () => void (touched = true) };
    await expect(
      readCounts(
        { recorder },
        { limit: 1, from: '2026-03-02T00:00:00Z', to: '2026-03-01T00:00:00Z' },
        async () => ((touched = true), []),
      ),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    expect(touched).toBe(false);
  });

  it('sum the named fields over the rows, 0 when there are none', () => {
    const rows = [
      { masked: 1, passed: 2, refused: 0, role: 'a' },
      { masked: 3, passed: 0, refused: 1, role: 'b' },
    ];
    expect(totalsOf(rows, ['masked', 'passed', 'refused'])).toEqual({ masked: 4, passed: 2, refused: 1 });
    expect(totalsOf([], ['masked'])).toEqual({ masked: 0 });
  });
});
