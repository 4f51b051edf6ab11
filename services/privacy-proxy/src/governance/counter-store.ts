import type { Sql } from '@orgmesh/persistence';

/** One bucket's counts: calls, tokens (input + output) and cost in micro-dollars. */
export interface Counts {
  requests: number;
  tokens: number;
  costMicroUsd: number;
}

export interface CounterDelta extends Counts {
  readonly key: string;
  /** Bucket start, epoch ms. */
  readonly bucket: number;
}

export interface CounterRow extends CounterDelta {
  /** When the row last changed, epoch ms (the store's clock): newer rows replace older views. */
  readonly updatedAt: number;
}

/**
 * The counters every proxy replica shares (ADR 0016). Replicas add deltas and read back the rows;
 * nothing on the request path waits for it except the first sight of a key.
 */
export interface CounterStore {
  /** Adds the deltas and returns the rows as they are now. */
  add(deltas: readonly CounterDelta[]): Promise<CounterRow[]>;
  /** The key's buckets from `since` on. */
  load(key: string, since: number): Promise<CounterRow[]>;
  /** Rows changed after `after` (epoch ms of the store's clock); `until` is where to read on from. */
  changedSince(after: number): Promise<{ rows: CounterRow[]; until: number }>;
  /** Claims a warning id; true for exactly one caller across replicas. */
  claimWarning(id: string): Promise<boolean>;
}

interface PgCounterRow {
  key: string;
  bucket_ms: string;
  requests: string;
  tokens: string;
  cost_micro_usd: string;
  updated_ms: string;
}

function fromRow(row: PgCounterRow): CounterRow {
  return {
    key: row.key,
    bucket: Number(row.bucket_ms),
    requests: Number(row.requests),
    tokens: Number(row.tokens),
    costMicroUsd: Number(row.cost_micro_usd),
    updatedAt: Number(row.updated_ms),
  };
}

const COLUMNS = `key, (extract(epoch from bucket) * 1000)::bigint AS bucket_ms, requests, tokens, cost_micro_usd,
  floor(extract(epoch from updated_at) * 1000)::bigint AS updated_ms`;

/**
 * A change is read by its `updated_at`; a statement that took its timestamp before another committed
 * may commit after it (single-statement autocommit upserts: milliseconds), so every read goes back this far (rows are absolute values: reading one
 * twice is harmless).
 */
const READ_OVERLAP_MS = 2_000;

/** Counters in Postgres (`privacy_proxy.llm_counters`), the schema of migrations/privacy-proxy. */
export class PostgresCounterStore implements CounterStore {
  constructor(private readonly db: Sql) {}

  async add(deltas: readonly CounterDelta[]): Promise<CounterRow[]> {
    if (deltas.length === 0) return [];
    // One statement for the whole batch; the same key and bucket twice in a batch is summed first.
    const result = await this.db.query<PgCounterRow>(
      `INSERT INTO llm_counters AS c (key, bucket, requests, tokens, cost_micro_usd)
       SELECT key, to_timestamp(bucket_ms / 1000.0), sum(requests), sum(tokens), sum(cost)
         FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])
              AS d(key, bucket_ms, requests, tokens, cost)
        GROUP BY key, bucket_ms
       ON CONFLICT (key, bucket) DO UPDATE SET
         requests = c.requests + excluded.requests,
         tokens = c.tokens + excluded.tokens,
         cost_micro_usd = c.cost_micro_usd + excluded.cost_micro_usd,
         updated_at = clock_timestamp()
       RETURNING ${COLUMNS}`,
      [
        deltas.map((d) => d.key),
        deltas.map((d) => d.bucket),
        deltas.map((d) => Math.round(d.requests)),
        deltas.map((d) => Math.round(d.tokens)),
        deltas.map((d) => Math.round(d.costMicroUsd)),
      ],
      { name: 'privacy-proxy-counters-add' },
    );
    return result.rows.map(fromRow);
  }

  async load(key: string, since: number): Promise<CounterRow[]> {
    const result = await this.db.query<PgCounterRow>(
      `SELECT ${COLUMNS} FROM llm_counters WHERE key = $1 AND bucket >= to_timestamp($2 / 1000.0)`,
      [key, since],
      { name: 'privacy-proxy-counters-load' },
    );
    return result.rows.map(fromRow);
  }

  async changedSince(after: number): Promise<{ rows: CounterRow[]; until: number }> {
    const result = await this.db.query<PgCounterRow & { now_ms: string }>(
      `SELECT ${COLUMNS}, NULL AS now_ms FROM llm_counters WHERE updated_at > to_timestamp($1 / 1000.0)
       UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, floor(extract(epoch from clock_timestamp()) * 1000)::bigint`,
      [after - READ_OVERLAP_MS],
      { name: 'privacy-proxy-counters-changed' },
    );
    let until = after;
    const rows: CounterRow[] = [];
    for (const row of result.rows) {
      if (row.key === null) until = Math.max(until, Number(row.now_ms));
      else rows.push(fromRow(row));
    }
    return { rows, until };
  }

  async claimWarning(id: string): Promise<boolean> {
    const result = await this.db.query(
      `INSERT INTO llm_budget_warnings (warning_id) VALUES ($1) ON CONFLICT DO NOTHING`,
      [id],
      { name: 'privacy-proxy-warning-claim' },
    );
    return result.rowCount === 1;
  }
}

/** Counters of this process only (no DATABASE_URL): one replica's view, lost on restart. */
export class MemoryCounterStore implements CounterStore {
  private readonly rows = new Map<string, CounterRow>();
  private readonly warnings = new Set<string>();
  private clock = 0;

  private tick(): number {
    this.clock = Math.max(this.clock + 1, Date.now());
    return this.clock;
  }

  add(deltas: readonly CounterDelta[]): Promise<CounterRow[]> {
    const touched = new Map<string, CounterRow>();
    for (const d of deltas) {
      const id = `${d.key}\u0000${d.bucket}`;
      const prior = this.rows.get(id);
      const row: CounterRow = {
        key: d.key,
        bucket: d.bucket,
        requests: (prior?.requests ?? 0) + d.requests,
        tokens: (prior?.tokens ?? 0) + d.tokens,
        costMicroUsd: (prior?.costMicroUsd ?? 0) + d.costMicroUsd,
        updatedAt: this.tick(),
      };
      this.rows.set(id, row);
      touched.set(id, row);
    }
    return Promise.resolve([...touched.values()]);
  }

  load(key: string, since: number): Promise<CounterRow[]> {
    return Promise.resolve([...this.rows.values()].filter((r) => r.key === key && r.bucket >= since));
  }

  changedSince(after: number): Promise<{ rows: CounterRow[]; until: number }> {
    return Promise.resolve({
      rows: [...this.rows.values()].filter((r) => r.updatedAt > after),
      until: this.clock,
    });
  }

  claimWarning(id: string): Promise<boolean> {
    if (this.warnings.has(id)) return Promise.resolve(false);
    this.warnings.add(id);
    return Promise.resolve(true);
  }
}
