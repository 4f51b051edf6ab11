import { describe, expect, it } from '@jest/globals';
import type { OrgUser } from '@orgmesh/contracts';
import { withDepths } from './registry.service.js';

const user = (userId: string, reportsToId: string | null): OrgUser => ({
  userId,
  reportsToId,
  name: userId,
  role: 'finance',
  email: `${userId}@example.com`,
  department: 'Finance',
});

describe('withDepths', () => {
  it('gives each user their distance from the top, whatever the row order', () => {
    const users = [
      user('d', 'c'),
      user('b', 'a'),
      user('a', null),
      user('c', 'b'),
      user('e', 'a'),
      user('root2', null),
    ];
    expect(Object.fromEntries(withDepths(users).map((u) => [u.userId, u.depth]))).toEqual({
      a: 0,
      b: 1,
      c: 2,
      d: 3,
      e: 1,
      root2: 0,
    });
  });

  it('handles a 10,000-deep chain without recursion', () => {
    const users = Array.from({ length: 10_000 }, (_, i) =>
      user(`u${i}`, i === 0 ? null : `u${i - 1}`),
    ).reverse();
    expect(withDepths(users).find((u) => u.userId === 'u9999')?.depth).toBe(9_999);
  });
});
