import type pg from 'pg';
import type { Logger } from '@orgmesh/telemetry';
import { assertOutboxSchema } from './outbox-writer.js';

/**
 * The retention of published outbox rows (`OutboxRelay.prunePublished`), apart from the relay's
 * publishing loop: it shares only the relay's pool.
 */

/** Seq values (so at most as many rows) per retention statement. */
const PRUNE_BATCH = 5_000;

/**
 * Deletes the rows of `schema`'s outbox published more than `retentionMs` ago; returns how many.
 * A row never published is kept, however old.
 *
 * It never reads the whole table: at a thousand task lifecycles a second the mesh outbox holds
 * hundreds of millions of rows a day, and `published_at` has no index of its own (another index
 * would cost every insert and mark). Rows are numbered in insertion order, so the first row
 * created after the cutoff is found by binary search over `seq`, each probe one primary-key
 * lookup, and the rows before it are deleted in primary-key ranges of `PRUNE_BATCH` seq values.
 *
 * One replica prunes a schema at a time: the run holds a session advisory lock on its own
 * connection (each statement still commits alone, so no row lock outlives its range); a replica
 * that finds it taken returns 0 at once. The lock dies with the connection if the process does.
 */
export async function prunePublishedOutbox(
  pool: pg.Pool,
  schema: string,
  retentionMs: number,
  logger: Logger,
): Promise<number> {
  if (retentionMs <= 0) return 0;
  const lockKey = `orgmesh-outbox-prune-${schema}`;
  const client = await pool.connect();
  let broken = false;
  // pg emits 'error' on a checked-out client when the server goes away between queries (a Postgres
  // restart mid-prune); without a listener that crashes the process. The query in flight fails too.
  const onError = () => {
    broken = true;
  };
  client.on('error', onError);
  try {
    const locked = await client.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock(hashtext($1)) AS locked',
      [lockKey],
    );
    if (!locked.rows[0]?.locked) return 0;
    try {
      return await pruneOn(client, schema, retentionMs, logger);
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]).catch(() => {
        // The connection is gone (and the lock with it), or must not go back to the pool holding it.
        broken = true;
      });
    }
  } catch (error) {
    broken = true;
    throw error;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

async function pruneOn(
  client: pg.PoolClient,
  schema: string,
  retentionMs: number,
  logger: Logger,
): Promise<number> {
  const { outbox, probe, bounds, prune } = pruneStatements(schema);
  const first = await client.query<{ lo: string | null; hi: string | null; cutoff: Date }>(bounds, [
    retentionMs,
  ]);
  const { lo: min, hi: max, cutoff } = first.rows[0]!;
  if (min === null || max === null) return 0;
  // The first seq whose row (or the next row after it) was created at or after the cutoff: rows
  // before it are old. Invariant: every row below `lo` is old; the boundary is at most `hi`.
  let lo = BigInt(min);
  let hi = BigInt(max) + 1n;
  while (lo < hi) {
    const mid = lo + (hi - lo) / 2n;
    const { rows } = await client.query<{ seq: string; old: boolean }>(probe, [mid.toString(), cutoff]);
    const row = rows[0];
    if (row?.old) lo = BigInt(row.seq) + 1n;
    else hi = mid;
  }
  let deleted = 0;
  let from = BigInt(min);
  const batch = BigInt(PRUNE_BATCH);
  while (from < lo) {
    const to = from + batch < lo ? from + batch : lo;
    const { rows } = await client.query<{ n: number }>(prune, [from.toString(), to.toString(), cutoff]);
    const n = rows[0]?.n ?? 0;
    deleted += n;
    if (n > 0 || to === lo) from = to;
    else {
      // Nothing in this range: go on from the next row there is (seq has gaps).
      const next = await client.query<{ seq: string }>(probe, [to.toString(), cutoff]);
      from = next.rows[0] ? BigInt(next.rows[0].seq) : lo;
    }
  }
  if (deleted > 0) logger.debug({ schema, outbox, deleted }, 'outbox relay pruned published rows');
  return deleted;
}

/**
 * The retention's statements (`prunePublished`); each reads the primary key, never the table.
 * Exported for the plan tests.
 */
export function pruneStatements(schema: string): {
  outbox: string;
  bounds: string;
  probe: string;
  prune: string;
} {
  assertOutboxSchema(schema);
  const outbox = `"${schema}".outbox`;
  return {
    outbox,
    // The lowest and highest seq, and the cutoff in the database's clock.
    bounds: `SELECT (SELECT seq FROM ${outbox} ORDER BY seq LIMIT 1)::text AS lo,
                    (SELECT seq FROM ${outbox} ORDER BY seq DESC LIMIT 1)::text AS hi,
                    now() - ($1::bigint * interval '1 millisecond') AS cutoff`,
    // The first row at or after a seq, and whether it was created before the cutoff.
    probe: `SELECT seq::text AS seq, created_at < $2::timestamptz AS old
              FROM ${outbox} WHERE seq >= $1::bigint ORDER BY seq LIMIT 1`,
    // The rows of a range of seq (so at most PRUNE_BATCH rows) published before the cutoff. A
    // range, not `seq IN (… LIMIT n)`: the planner answers that with a hash join over the table.
    prune: `WITH gone AS (
              DELETE FROM ${outbox}
               WHERE seq >= $1::bigint AND seq < $2::bigint AND published_at < $3::timestamptz
              RETURNING 1)
            SELECT count(*)::int AS n FROM gone`,
  };
}
