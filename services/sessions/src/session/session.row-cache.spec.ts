import { describe, expect, it } from '@jest/globals';
import type { SessionRow } from './session.entity.js';
import { PerKeyQueue, SessionRowCache } from './session.row-cache.js';

function row(id: string, version: number): SessionRow {
  const at = new Date(0);
  return {
    id,
    agent_id: 'a',
    role: 'r',
    context_id: 'c',
    status: 'active',
    version,
    metadata: {},
    created_at: at,
    updated_at: at,
    last_transition_at: at,
    paused_at: null,
    completed_at: null,
    failed_at: null,
    expired_at: null,
  };
}

describe('SessionRowCache', () => {
  it('keeps the newest version of a row: a write finishing late does not bring back an older one', () => {
    const cache = new SessionRowCache(10);
    cache.remember(row('s1', 3));
    cache.remember(row('s1', 2));
    expect(cache.get('s1')?.version).toBe(3);
    cache.remember(row('s1', 4));
    expect(cache.get('s1')?.version).toBe(4);
  });

  it('forgets a row only if it is not newer than the version a guard missed on', () => {
    const cache = new SessionRowCache(10);
    cache.remember(row('s1', 5));
    cache.forget('s1', 4);
    expect(cache.get('s1')?.version).toBe(5);
    cache.forget('s1', 5);
    expect(cache.get('s1')).toBeUndefined();
  });

  it('evicts the least recently used row beyond its capacity; capacity 0 remembers nothing', () => {
    const cache = new SessionRowCache(2);
    cache.remember(row('a', 1));
    cache.remember(row('b', 1));
    cache.get('a');
    cache.remember(row('c', 1));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
    const off = new SessionRowCache(0);
    off.remember(row('a', 1));
    expect(off.size).toBe(0);
  });
});

describe('PerKeyQueue', () => {
  it('runs the work of one key one after the other, in order, whatever the previous outcome', async () => {
    const queue = new PerKeyQueue();
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = queue.run('k', async () => {
      log.push('first start');
      await gate;
      log.push('first end');
      throw new Error('first failed');
    });
    const second = queue.run('k', async () => {
      log.push('second');
      return 2;
    });
    const other = queue.run('other', async () => {
      log.push('other key');
      return 3;
    });
    await expect(other).resolves.toBe(3);
    expect(log).toEqual(['first start', 'other key']);
    release();
    await expect(first).rejects.toThrow('first failed');
    await expect(second).resolves.toBe(2);
    expect(log).toEqual(['first start', 'other key', 'first end', 'second']);
  });

  it('forgets a key once its work is done', async () => {
    const queue = new PerKeyQueue();
    await queue.run('k', async () => 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.busyKeys).toBe(0);
  });
});
