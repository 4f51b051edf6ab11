import { describe, expect, it } from '@jest/globals';
import { pageOf } from './pagination.js';

describe('pageOf', () => {
  it('walks a whole list with opaque cursors', () => {
    const all = Array.from({ length: 7 }, (_, i) => i);
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = pageOf(all, 3, cursor);
      seen.push(...page.items);
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(seen).toEqual(all);
    expect(pages).toBe(3);
  });

  it('refuses a cursor it did not issue with invalid_cursor', () => {
    const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const cursor of [
      'bogus',
      '\u0000',
      forged({ o: -1 }),
      forged({ o: 1e20 }),
      forged({ o: '3' }),
      forged({ o: 0 }),
    ])
      expect(() => pageOf([1], 1, cursor)).toThrow(expect.objectContaining({ code: 'invalid_cursor' }));
  });
});
