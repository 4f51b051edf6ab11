import { describe, expect, it } from '@jest/globals';
import { jsonSize, TokenBucketLimiter } from './rate-limiter.js';

describe('TokenBucketLimiter', () => {
  it('admits a burst, then refuses with the wait until the next token, then refills', () => {
    let now = 1_000_000;
    const limiter = new TokenBucketLimiter({ perSecond: 2, burst: 3, now: () => now });
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(500);
    now += 250;
    expect(limiter.take('a')).toBe(250);
    now += 250;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(500);
  });

  it('keeps senders apart', () => {
    const now = 5_000;
    const limiter = new TokenBucketLimiter({ perSecond: 1, burst: 1, now: () => now });
    expect(limiter.take('finance-agent')).toBe(0);
    expect(limiter.take('finance-agent')).toBeGreaterThan(0);
    expect(limiter.take('legal-agent')).toBe(0);
  });

  it('never exceeds the burst however long a sender stays idle', () => {
    let now = 0;
    const limiter = new TokenBucketLimiter({ perSecond: 100, burst: 2, now: () => now });
    limiter.take('a');
    now += 3_600_000;
    expect([limiter.take('a'), limiter.take('a')]).toEqual([0, 0]);
    expect(limiter.take('a')).toBeGreaterThan(0);
  });
});

describe('jsonSize', () => {
  it('counts UTF-8 bytes of the JSON form, strings as they are', () => {
    expect(jsonSize(undefined)).toBe(0);
    expect(jsonSize('héllo')).toBe(6);
    expect(jsonSize({ a: 1 })).toBe(7);
  });
});
