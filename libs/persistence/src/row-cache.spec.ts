import { describe, expect, it } from '@jest/globals';
import { RowCache } from './row-cache.js';

function row(id: string, version: number): { id: string; version: number; status: string } {
  return { id, version, status: 'active' };
}

describe('RowCache', () => {
  it('keeps the newest version of a row: a write finishing late does not bring back an older one', () => {
    const cache = new RowCache(10);
    cache.remember(row('s1', 3));
    cache.remember(row('s1', 2));
    expect(cache.get('s1')?.version).toBe(3);
    cache.remember(row('s1', 4));
    expect(cache.get('s1')?.version).toBe(4);
  });

  it('forgets a row only if it is not newer than the version a guard missed on', () => {
    const cache = new RowCache(10);
    cache.remember(row('s1', 5));
    cache.forget('s1', 4);
    expect(cache.get('s1')?.version).toBe(5);
    cache.forget('s1', 5);
    expect(cache.get('s1')).toBeUndefined();
  });

  it('evicts the least recently used row beyond its capacity; capacity 0 remembers nothing', () => {
    const cache = new RowCache(2);
    cache.remember(row('a', 1));
    cache.remember(row('b', 1));
    cache.get('a');
    cache.remember(row('c', 1));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
    const off = new RowCache(0);
    off.remember(row('a', 1));
    expect(off.size).toBe(0);
  });

  it('says whether a remembered row was news: a repeat or an older version is not', () => {
    const cache = new RowCache(4);
    expect(cache.remember(row('a', 1))).toBe(true);
    expect(cache.remember(row('a', 1))).toBe(false);
    expect(cache.remember(row('a', 2))).toBe(true);
    expect(cache.remember(row('a', 1))).toBe(false);
    expect(new RowCache(0).remember(row('a', 1))).toBe(false);
  });
});
