import { describe, expect, it } from '@jest/globals';
import { PolicyCache } from './policy-cache.js';

describe('PolicyCache', () => {
  it('serves a cached answer until its TTL, then asks again', async () => {
    let now = 0;
    let calls = 0;
    const cache = new PolicyCache<number>({ ttlMs: 1000, now: () => now });
    const load = async () => ++calls;
    expect(await cache.get('k', load)).toBe(1);
    now = 999;
    expect(await cache.get('k', load)).toBe(1);
    now = 1000;
    expect(await cache.get('k', load)).toBe(2);
  });

  it('asks once for concurrent misses of one key', async () => {
    let calls = 0;
    const cache = new PolicyCache<string>({ ttlMs: 1000 });
    let release!: (v: string) => void;
    const load = () => {
      calls++;
      return new Promise<string>((resolve) => (release = resolve));
    };
    const both = Promise.all([cache.get('k', load), cache.get('k', load)]);
    release('v');
    expect(await both).toEqual(['v', 'v']);
    expect(calls).toBe(1);
  });

  it('does not store an answer that was in flight across a clear()', async () => {
    let calls = 0;
    const cache = new PolicyCache<number>({ ttlMs: 60_000 });
    let release!: (v: number) => void;
    const first = cache.get('k', () => new Promise<number>((resolve) => (release = resolve)));
    cache.clear();
    release(1);
    expect(await first).toBe(1);
    expect(await cache.get('k', async () => 10 + ++calls)).toBe(11);
  });

  it('does not cache failures', async () => {
    const cache = new PolicyCache<number>({ ttlMs: 60_000 });
    await expect(cache.get('k', () => Promise.reject(new Error('registry down')))).rejects.toThrow(
      'registry down',
    );
    expect(await cache.get('k', async () => 3)).toBe(3);
  });
});
