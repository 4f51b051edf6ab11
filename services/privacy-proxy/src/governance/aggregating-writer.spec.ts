import { describe, expect, it } from '@jest/globals';
import type { Sql } from '@orgmesh/persistence';
import { addKept, sumInto } from './aggregating-writer.js';

interface Row {
  bucket: number;
  key: string;
  n: number;
}
const HOUR = 3_600_000;
const keyOf = (row: Row) => `${row.bucket}:${row.key}`;
const addTo = (prior: Row, row: Row) => {
  prior.n += row.n;
};

describe('addKept (the in-memory stores)', () => {
  it('sums rows of one key, keeps rows of other keys apart, and never keeps the caller’s objects', () => {
    const kept = new Map<string, Row>();
    const now = Math.floor(Date.now() / HOUR) * HOUR;
    const first = { bucket: now, key: 'a', n: 1 };
    addKept(kept, [first, { bucket: now, key: 'b', n: 2 }], 7 * 24 * HOUR, keyOf, addTo);
    addKept(kept, [{ bucket: now, key: 'a', n: 3 }], 7 * 24 * HOUR, keyOf, addTo);
    expect([...kept.values()]).toEqual([
      { bucket: now, key: 'a', n: 4 },
      { bucket: now, key: 'b', n: 2 },
    ]);
    expect(first.n).toBe(1);
  });

  it('neither adds nor keeps rows older than keepMs', () => {
    const kept = new Map<string, Row>();
    const now = Math.floor(Date.now() / HOUR) * HOUR;
    const old = now - 3 * HOUR;
    addKept(kept, [{ bucket: old, key: 'a', n: 1 }], 10 * HOUR, keyOf, addTo);
    expect(kept.size).toBe(1);
    // A shorter window on the next add: the old row is pruned, a new old row is not added.
    addKept(
      kept,
      [
        { bucket: old, key: 'b', n: 1 },
        { bucket: now, key: 'c', n: 1 },
      ],
      HOUR,
      keyOf,
      addTo,
    );
    expect([...kept.values()].map((row) => row.key)).toEqual(['c']);
  });
});

describe('sumInto (the Postgres stores)', () => {
  interface Counted {
    bucket: number;
    tenant: string;
    entityType: string;
    count: number;
  }
  const add = sumInto<Counted>({
    table: 'counts',
    keys: { tenant: 'tenant', entity_type: 'entityType' },
    sums: { count: 'count' },
    statement: 'counts-add',
  });
  function recorder() {
    const calls: Array<{ text: string; params: unknown[] | undefined; name: string | undefined }> = [];
    const db: Sql = {
      query: (text, params, options) => {
        calls.push({ text, params, name: options?.name });
        return Promise.resolve({ rows: [], rowCount: 0 } as never);
      },
    };
    return { db, calls };
  }

  it('sends one named statement: one array per column, the bucket and the sums bigint, the keys text', async () => {
    const { db, calls } = recorder();
    await add(db, [
      { bucket: HOUR, tenant: 't', entityType: 'email', count: 2 },
      { bucket: 2 * HOUR, tenant: 't', entityType: 'ssn', count: 1 },
    ]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.name).toBe('counts-add');
    expect(calls[0]!.params).toEqual([[HOUR, 2 * HOUR], ['t', 't'], ['email', 'ssn'], [2, 1]]);
    expect(calls[0]!.text.replace(/\s+/g, ' ')).toBe(
      'INSERT INTO counts AS t (bucket, tenant, entity_type, count) ' +
        'SELECT to_timestamp(d.bucket / 1000.0), d.tenant, d.entity_type, d.count ' +
        'FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) AS d(bucket, tenant, entity_type, count) ' +
        'ON CONFLICT (bucket, tenant, entity_type) DO UPDATE SET count = t.count + excluded.count, ' +
        'updated_at = clock_timestamp()',
    );
  });

  it('sends nothing for no rows', async () => {
    const { db, calls } = recorder();
    await add(db, []);
    expect(calls).toEqual([]);
  });
});
