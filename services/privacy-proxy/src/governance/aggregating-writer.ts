import type { Sql } from '@orgmesh/persistence';
import type { Logger } from '@orgmesh/telemetry';

export interface AggregatingWriterOptions {
  readonly intervalMs?: number;
  /** Distinct rows kept at most; past it the oldest aggregate is dropped and counted. */
  readonly maxRows?: number;
  readonly onDropped?: (n: number) => void;
}

/**
 * Where aggregated counts are kept (LLM usage, redaction counts): Postgres, or this process's memory.
 * `add` sums rows into the stored ones; `query` reads totals.
 */
export interface AggregateStore<Row, Query extends AggregateQuery, Totals = Row> {
  add(rows: readonly Row[]): Promise<void>;
  query(query: Query): Promise<Totals[]>;
}

/** What every read of aggregated counts names: the tenant, the buckets it spans, the most rows. */
export interface AggregateQuery {
  readonly tenant: string;
  /** Epoch ms, inclusive hour buckets. */
  readonly from: number;
  readonly to: number;
  readonly limit: number;
}

/**
 * An aggregate table of Postgres: each row is one hour (`bucket`) of one key, and carries counts.
 * Columns are named with the row field they hold; every key column besides `bucket` is text, every
 * counted column bigint.
 */
export interface SumTable<Row> {
  readonly table: string;
  /** Key columns besides `bucket`, in the table's unique key order. */
  readonly keys: Readonly<Record<string, keyof Row>>;
  /** The counted columns: a row's values are added to the stored ones. */
  readonly sums: Readonly<Record<string, keyof Row>>;
  /** The prepared statement's name (a name always comes with the same text). */
  readonly statement: string;
}

/**
 * The Postgres stores' add: every row summed into the stored row of its bucket and key, in one
 * statement however many rows (one array per column, read with `unnest`). One declaration of the
 * table, instead of the column list, the conflict key, the sums and the row fields written apart in
 * the same order.
 */
export function sumInto<Row extends { readonly bucket: number }>(
  table: SumTable<Row>,
): (db: Sql, rows: readonly Row[]) => Promise<void> {
  const keys = Object.keys(table.keys);
  const sums = Object.keys(table.sums);
  const columns = ['bucket', ...keys, ...sums];
  const fields: Array<keyof Row> = ['bucket', ...Object.values(table.keys), ...Object.values(table.sums)];
  const arrays = columns.map((_, i) => `$${i + 1}::${i === 0 || i > keys.length ? 'bigint' : 'text'}[]`);
  const text = `INSERT INTO ${table.table} AS t (${columns.join(', ')})
       SELECT to_timestamp(d.bucket / 1000.0), ${[...keys, ...sums].map((c) => `d.${c}`).join(', ')}
         FROM unnest(${arrays.join(', ')}) AS d(${columns.join(', ')})
       ON CONFLICT (${['bucket', ...keys].join(', ')}) DO UPDATE SET
         ${sums.map((c) => `${c} = t.${c} + excluded.${c}`).join(',\n         ')},
         updated_at = clock_timestamp()`;
  return async (db, rows) => {
    if (rows.length === 0) return;
    await db.query(
      text,
      fields.map((field) => rows.map((row) => row[field])),
      { name: table.statement },
    );
  };
}

/**
 * The in-memory stores' add (tests and single-replica setups): each row summed into the row of its
 * key, rows older than `keepMs` (by their hour bucket) neither added nor kept — the retention a
 * Postgres store gets from its retention job.
 */
export function addKept<Row extends { readonly bucket: number }>(
  kept: Map<string, Row>,
  rows: readonly Row[],
  keepMs: number,
  keyOf: (row: Row) => string,
  addTo: (prior: Row, row: Row) => void,
): void {
  const cutoff = Date.now() - keepMs;
  for (const row of rows) {
    if (row.bucket < cutoff) continue;
    const key = keyOf(row);
    const prior = kept.get(key);
    if (prior) addTo(prior, row);
    else kept.set(key, { ...row });
  }
  for (const [key, row] of kept) if (row.bucket < cutoff) kept.delete(key);
}

/**
 * Sums rows with the same key in memory and writes them in one statement per interval, off the
 * request path (LLM usage, redaction counts). A failed write keeps the rows for the next one
 * (bounded by `maxRows`).
 */
export class AggregatingWriter<Row extends object> {
  private pending = new Map<string, Row>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly parts: {
      /** Rows with the same key are summed. */
      readonly key: (row: Row) => string;
      /** Adds `delta`'s counts into `target`. */
      readonly merge: (target: Row, delta: Row) => void;
      readonly write: (rows: readonly Row[]) => Promise<void>;
      /** Constant log message of a failed write. */
      readonly failure: string;
    },
    private readonly logger: Logger,
    private readonly options: AggregatingWriterOptions = {},
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.options.intervalMs ?? 1_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.writing;
    await this.flush();
  }

  record(row: Row): void {
    const key = this.parts.key(row);
    const prior = this.pending.get(key);
    if (prior) this.parts.merge(prior, row);
    else {
      if (this.pending.size >= (this.options.maxRows ?? 100_000)) {
        const oldest = this.pending.keys().next().value;
        if (oldest !== undefined) this.pending.delete(oldest);
        this.options.onDropped?.(1);
      }
      this.pending.set(key, { ...row });
    }
  }

  /** Writes what is aggregated now (readers call it first, so this replica's latest counts are in). */
  async flush(): Promise<void> {
    if (this.writing) await this.writing;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.writing = this.parts
      .write([...batch.values()])
      .catch((error: unknown) => {
        for (const row of batch.values()) this.record(row);
        this.logger.warn(
          { err: error instanceof Error ? error.name : 'unknown', rows: batch.size },
          this.parts.failure,
        );
      })
      .finally(() => {
        this.writing = undefined;
      });
    await this.writing;
  }
}
