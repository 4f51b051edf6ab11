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

  it('refuses a cursor it did not issue', () => {
    expect(() => pageOf([1], 1, 'bogus')).toThrow(expect.objectContaining({ code: 'validation_failed' }));
  });
});
