import { describe, expect, it } from '@jest/globals';
import { PerKeyQueue } from './per-key-queue.js';

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
