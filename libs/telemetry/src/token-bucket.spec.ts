import { describe, expect, it } from '@jest/globals';
import { TokenBucketLimiter } from './token-bucket.js';

describe('TokenBucketLimiter', () => {
  it('admits a burst, then refuses with the wait until the next token, then refills', () => {
    let now = 1_000_000;
    const limiter = new TokenBucketLimiter({ perSecond: 2, burst: 3, now: () => now });
    expect([1, 2, 3].map(() => limiter.take('a').allowed)).toEqual([true, true, true]);
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterMs: 500, retryAfterSec: 1 });
    now += 250;
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterMs: 250, retryAfterSec: 1 });
    now += 250;
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a')).toMatchObject({ allowed: false, retryAfterMs: 500 });
  });

  it('rounds a wait of more than a second up to whole seconds, and takes a cost of several tokens', () => {
    const limiter = new TokenBucketLimiter({ perSecond: 0.4, burst: 2, now: () => 0 });
    expect(limiter.take('a', 2).allowed).toBe(true);
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterMs: 2500, retryAfterSec: 3 });
    expect(limiter.take('b', 3)).toEqual({ allowed: false, retryAfterMs: 2500, retryAfterSec: 3 });
  });

  it('keeps one bucket per key', () => {
    const limiter = new TokenBucketLimiter({ perSecond: 1, burst: 1, now: () => 5_000 });
    expect(limiter.take('finance-agent').allowed).toBe(true);
    expect(limiter.take('finance-agent').allowed).toBe(false);
    expect(limiter.take('legal-agent').allowed).toBe(true);
  });

  it('never holds more than the burst however long a key stays idle', () => {
    let now = 0;
    const limiter = new TokenBucketLimiter({ perSecond: 100, burst: 2, now: () => now });
    limiter.take('a');
    now += 3_600_000;
    expect([1, 2, 3].map(() => limiter.take('a').allowed)).toEqual([true, true, false]);
  });

  it('forgets idle keys and caps the number of buckets', () => {
    let now = 0;
    const limiter = new TokenBucketLimiter({ perSecond: 1, burst: 1, maxKeys: 3, now: () => now });
    for (const key of ['a', 'b', 'c', 'd']) limiter.take(key);
    expect(limiter.size).toBe(3);
    // 'a', the oldest, was dropped for 'd': it starts again with a full bucket.
    expect(limiter.take('a').allowed).toBe(true);
    now += 60_000;
    limiter.take('e');
    expect(limiter.size).toBe(1);
  });
});
