import { describe, expect, it } from '@jest/globals';
import { WriteBatcher } from './write-batcher.js';

/** A batch function whose calls the test releases by hand. */
function controlled() {
  const calls: Array<{ items: number[]; release: () => void; fail: (e: unknown) => void }> = [];
  const write = (items: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      calls.push({ items, release: () => resolve(items.map((i) => `r${i}`)), fail: reject });
    });
  return { calls, write };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('WriteBatcher', () => {
  it('writes an item alone and at once when nothing is in flight', async () => {
    const { calls, write } = controlled();
    const batcher = new WriteBatcher(write, { maxInFlight: 1 });
    const result = batcher.submit(1);
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1]]);
    calls[0]!.release();
    await expect(result).resolves.toBe('r1');
  });

  it('groups what arrives while the slots are busy into the next batch, each caller getting its own result', async () => {
    const { calls, write } = controlled();
    const batcher = new WriteBatcher(write, { maxInFlight: 1 });
    const first = batcher.submit(1);
    await tick();
    const later = [2, 3, 4].map((i) => batcher.submit(i));
    await tick();
    expect(calls).toHaveLength(1);
    expect(batcher.waiting).toBe(3);
    calls[0]!.release();
    await first;
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3, 4]]);
    calls[1]!.release();
    await expect(Promise.all(later)).resolves.toEqual(['r2', 'r3', 'r4']);
  });

  it('groups a same-tick burst even when a slot is free', async () => {
    const { calls, write } = controlled();
    const batcher = new WriteBatcher(write, { maxInFlight: 2 });
    const all = [1, 2, 3].map((i) => batcher.submit(i));
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1, 2, 3]]);
    calls[0]!.release();
    await expect(Promise.all(all)).resolves.toEqual(['r1', 'r2', 'r3']);
  });

  it('respects maxBatch and maxInFlight', async () => {
    const { calls, write } = controlled();
    const batcher = new WriteBatcher(write, { maxInFlight: 2, maxBatch: 2 });
    const all = [1, 2, 3, 4, 5].map((i) => batcher.submit(i));
    await tick();
    expect(calls.map((c) => c.items)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    calls[0]!.release();
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1, 2], [3, 4], [5]]);
    calls[1]!.release();
    calls[2]!.release();
    await expect(Promise.all(all)).resolves.toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
  });

  it('never puts two items with the same key into one batch; the later waits, order kept', async () => {
    const { calls, write } = controlled();
    const batcher = new WriteBatcher(write, { maxInFlight: 1, keyOf: (i: number) => String(i % 10) });
    const all = [1, 11, 2, 21, 3].map((i) => batcher.submit(i));
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1, 2, 3]]);
    calls[0]!.release();
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1, 2, 3], [11]]);
    calls[1]!.release();
    await tick();
    expect(calls.map((c) => c.items)).toEqual([[1, 2, 3], [11], [21]]);
    calls[2]!.release();
    await expect(Promise.all(all)).resolves.toEqual(['r1', 'r11', 'r2', 'r21', 'r3']);
  });

  it('rejects every item of a failed batch and goes on with the next', async () => {
    const { calls, write } = controlled();
    const batcher = new WriteBatcher(write, { maxInFlight: 1 });
    const first = batcher.submit(1);
    await tick();
    const second = batcher.submit(2);
    const third = batcher.submit(3);
    calls[0]!.fail(new Error('connection lost'));
    await expect(first).rejects.toThrow('connection lost');
    await tick();
    calls[1]!.fail(new Error('still down'));
    await expect(second).rejects.toThrow('still down');
    await expect(third).rejects.toThrow('still down');
    const fourth = batcher.submit(4);
    await tick();
    calls[2]!.release();
    await expect(fourth).resolves.toBe('r4');
  });

  it('refuses a batch function that answers the wrong number of results', async () => {
    const batcher = new WriteBatcher(async (items: number[]) => items.slice(1), {});
    await expect(Promise.all([batcher.submit(1), batcher.submit(2)])).rejects.toThrow(
      'batch write returned 1 results for 2 items',
    );
  });
});
