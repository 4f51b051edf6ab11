import { describe, expect, it } from '@jest/globals';
import { RecentIds } from './recent-ids.js';

describe('RecentIds', () => {
  it('remembers up to its capacity, forgetting the least recently added first', () => {
    const ids = new RecentIds(3);
    for (const id of ['a', 'b', 'c']) ids.add(id);
    ids.add('a'); // refreshed: now the newest
    ids.add('d');
    expect(['a', 'b', 'c', 'd'].filter((id) => ids.has(id))).toEqual(['a', 'c', 'd']);
    expect(ids.size).toBe(3);
    expect(() => new RecentIds(0)).toThrow();
  });
});
