import type { Sql } from '@orgmesh/persistence';
import {
  addKept,
  AggregatingWriter,
  sumInto,
  type AggregateQuery,
  type AggregateStore,
  type SumTable,
} from './aggregating-writer.js';

/** A row of an aggregate table: one hour (`bucket`, epoch ms) of one tenant's key, and its counts. */
type AggregateRow = { readonly bucket: number; readonly tenant: string };

/**
 * How rows of `table` are summed outside Postgres (the in-memory stores, the writers' pending rows):
 * rows of one bucket and the same key columns are one row, and its counted columns are added. The
 * same declaration as the table's upsert (sumInto), so a key column added to the table is a key here
 * too.
 */
export function summing<Row extends { readonly bucket: number }>(
  table: SumTable<Row>,
): { key: (row: Row) => string; merge: (target: Row, delta: Row) => void } {
  const keyFields: Array<keyof Row> = ['bucket', ...Object.values(table.keys)];
  const sumFields = Object.values(table.sums);
  return {
    key: (row) => keyFields.map((field) => row[field]).join('\u0000'),
    merge: (target, delta) => {
      const sums = target as Record<keyof Row, number>;
      for (const field of sumFields) sums[field] += delta[field] as number;
    },
  };
}

/**
 * What an AggregatingWriter of an aggregate store is made of: rows summed as `table` sums them (see
 * {@link summing}) and written with the store's `add`; `failure` is the constant log message of a
 * failed write.
 */
export function writerFor<Row extends { readonly bucket: number }>(
  store: Pick<AggregateStore<Row, AggregateQuery>, 'add'>,
  table: SumTable<Row>,
  failure: string,
): ConstructorParameters<typeof AggregatingWriter<Row>>[0] {
  return { ...summing(table), write: (rows) => store.add(rows), failure };
}

/**
 * The rows of a query's tenant and hours: `$1` the tenant, `$2` and `$3` the first and the last hour
 * (epoch ms, both inclusive), bound by {@link rangeParams}. Every Postgres read starts its WHERE with it.
 */
export const IN_RANGE =
  'tenant = $1 AND bucket >= to_timestamp($2 / 1000.0) AND bucket <= to_timestamp($3 / 1000.0)';

/** The parameters `$1` to `$3` of {@link IN_RANGE}. */
export function rangeParams(query: AggregateQuery): [string, number, number] {
  return [query.tenant, query.from, query.to];
}

/** An aggregate store in Postgres: `add` sums rows into `table` (sumInto); a store adds its own read. */
export abstract class PostgresAggregateStore<
  Row extends AggregateRow,
  Query extends AggregateQuery,
  Totals = Row,
> implements AggregateStore<Row, Query, Totals> {
  private readonly addRows: (db: Sql, rows: readonly Row[]) => Promise<void>;

  constructor(
    protected readonly db: Sql,
    table: SumTable<Row>,
  ) {
    this.addRows = sumInto(table);
  }

  add(rows: readonly Row[]): Promise<void> {
    return this.addRows(this.db, rows);
  }

  abstract query(query: Query): Promise<Totals[]>;
}

/**
 * An aggregate store of this process only (no DATABASE_URL): rows summed as `table` sums them and
 * kept for the last `keepMs` (addKept); a store adds its own read of {@link rowsIn}.
 */
export abstract class MemoryAggregateStore<
  Row extends AggregateRow,
  Query extends AggregateQuery,
  Totals = Row,
> implements AggregateStore<Row, Query, Totals> {
  private readonly rows = new Map<string, Row>();
  private readonly summing: ReturnType<typeof summing<Row>>;

  constructor(
    table: SumTable<Row>,
    private readonly keepMs: number,
  ) {
    this.summing = summing(table);
  }

  add(rows: readonly Row[]): Promise<void> {
    addKept(this.rows, rows, this.keepMs, this.summing.key, this.summing.merge);
    return Promise.resolve();
  }

  abstract query(query: Query): Promise<Totals[]>;

  /** The kept rows of the query's tenant and hours (what {@link IN_RANGE} selects in Postgres). */
  protected rowsIn(query: AggregateQuery): Row[] {
    return [...this.rows.values()].filter(
      (r) => r.tenant === query.tenant && r.bucket >= query.from && r.bucket <= query.to,
    );
  }
}
