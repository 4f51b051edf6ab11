import { describe, expect, it } from '@jest/globals';
import { MemoryAggregateStore, summing } from './aggregate-stores.js';
import type { AggregateQuery, SumTable } from './aggregating-writer.js';

interface Row {
  bucket: number;
  tenant: string;
  role: string;
  calls: number;
  tokens: number;
}
const TABLE: SumTable<Row> = {
  table: 'calls',
  keys: { tenant: 'tenant', role: 'role' },
  sums: { calls: 'calls', tokens: 'tokens' },
  statement: 'calls-add',
};
const HOUR = 3_600_000;

describe('summing (rows summed outside Postgres as the table sums them)', () => {
  it('keys a row by its bucket and every key column, and adds every counted column', () => {
    const { key, merge } = summing(TABLE);
    const row = { bucket: HOUR, tenant: 't', role: 'finance', calls: 1, tokens: 10 };
    expect(key({ ...row, calls: 5 })).toBe(key(row));
    expect(key({ ...row, bucket: 2 * HOUR })).not.toBe(key(row));
    expect(key({ ...row, tenant: 'u' })).not.toBe(key(row));
    expect(key({ ...row, role: 'legal' })).not.toBe(key(row));
    const target = { ...row };
    merge(target, { ...row, calls: 2, tokens: 30 });
    expect(target).toEqual({ bucket: HOUR, tenant: 't', role: 'finance', calls: 3, tokens: 40 });
  });
});

class CallStore extends MemoryAggregateStore<Row, AggregateQuery> {
  query(q: AggregateQuery): Promise<Row[]> {
    return Promise.resolve(this.rowsIn(q));
  }
}

describe('MemoryAggregateStore', () => {
  it("sums added rows by the table's key and reads the query's tenant and hours, both ends inclusive", async () => {
    const now = Math.floor(Date.now() / HOUR) * HOUR;
    const store = new CallStore(TABLE, 7 * 24 * HOUR);
    const row = { bucket: now - HOUR, tenant: 't', role: 'finance', calls: 1, tokens: 10 };
    await store.add([row, { ...row, tokens: 5 }, { ...row, bucket: now }, { ...row, tenant: 'u' }]);
    await store.add([{ ...row, bucket: now - 2 * HOUR }]);
    expect(await store.query({ tenant: 't', from: now - HOUR, to: now, limit: 10 })).toEqual([
      { ...row, calls: 2, tokens: 15 },
      { ...row, bucket: now },
    ]);
  });
});
