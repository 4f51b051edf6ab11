import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Database } from '@orgmesh/persistence';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
import { OutboxRelay, pruneStatements, type MessageBus } from '../src/index.js';
import { outboxSchemaAndBus } from './helpers.js';

const SCHEMA = 'rettest';
const DAY = 24 * 3600_000;

/**
 * The relay's retention against real Postgres: what it deletes and keeps, and that it reads the
 * primary key, never the whole outbox (which holds a day of events at the mesh's rate).
 */
describe('outbox retention', () => {
  let ctx: TestContext;
  let db: Database;
  let bus: MessageBus;

  beforeAll(async () => {
    ctx = await createTestContext();
    ({ db, bus } = await outboxSchemaAndBus(ctx, SCHEMA, 'retention'));
  });

  afterAll(async () => {
    await bus?.close();
    await db?.close();
    await ctx?.dispose();
  });

  /** `count` rows created `createdAgo` ms ago, published `publishedAgo` ms ago (null: never), in seq order. */
  const insert = (count: number, createdAgo: number, publishedAgo: number | null, tag: string) =>
    db.query(
      `INSERT INTO "${SCHEMA}".outbox (event_id, subject, payload, created_at, published_at)
       SELECT gen_random_uuid(), 'rettest.v1.thing', jsonb_build_object('tag', $1::text),
              now() - ($2::bigint * interval '1 millisecond'),
              CASE WHEN $3::bigint IS NULL THEN NULL ELSE now() - ($3::bigint * interval '1 millisecond') END
         FROM generate_series(1, $4::int)`,
      [tag, createdAgo, publishedAgo, count],
    );
  const remaining = async () => {
    const { rows } = await db.query<{ tag: string; n: number }>(
      `SELECT payload->>'tag' AS tag, count(*)::int AS n FROM "${SCHEMA}".outbox GROUP BY 1 ORDER BY 1`,
    );
    return Object.fromEntries(rows.map((r) => [r.tag, r.n]));
  };

  it('deletes what was published more than the retention ago, in batches, and keeps the rest', async () => {
    await insert(7_000, 3 * DAY, 2 * DAY, 'expired-a');
    await insert(1, 3 * DAY, null, 'never-published');
    await insert(5_000, 3 * DAY, 2 * DAY, 'expired-b');
    await insert(1, 3 * DAY, 60_000, 'published-a-minute-ago');
    await insert(2_000, 60_000, 60_000, 'young');
    const relay = new OutboxRelay({
      databaseUrl: ctx.databaseUrl,
      schema: SCHEMA,
      bus,
      publishedRetentionMs: DAY,
    });
    try {
      expect(await relay.prunePublished()).toBe(12_000);
      expect(await remaining()).toEqual({ 'never-published': 1, 'published-a-minute-ago': 1, young: 2_000 });
      expect(await relay.prunePublished()).toBe(0);
    } finally {
      await relay.stop();
    }
  });

  it('prunes on one replica at a time: skipped while another holds the schema lock', async () => {
    await db.query(`DELETE FROM "${SCHEMA}".outbox`);
    await insert(100, 3 * DAY, 2 * DAY, 'expired');
    const relay = new OutboxRelay({ databaseUrl: ctx.databaseUrl, schema: SCHEMA, bus, publishedRetentionMs: DAY });
    const other = db.dataSource.createQueryRunner();
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock(hashtext($1))', [`orgmesh-outbox-prune-${SCHEMA}`]);
      expect(await relay.prunePublished()).toBe(0);
      expect(await remaining()).toEqual({ expired: 100 });
      await other.query('SELECT pg_advisory_unlock(hashtext($1))', [`orgmesh-outbox-prune-${SCHEMA}`]);
      expect(await relay.prunePublished()).toBe(100);
      // Its own lock was released: a second run may take it.
      await insert(5, 3 * DAY, 2 * DAY, 'expired-later');
      expect(await relay.prunePublished()).toBe(5);
    } finally {
      await other.release();
      await relay.stop();
    }
  });

  it('survives its connection dying mid-prune (a Postgres restart): that prune fails, the process does not', async () => {
    await db.query(`DELETE FROM "${SCHEMA}".outbox`);
    await insert(10, 3 * DAY, 2 * DAY, 'expired');
    const relay = new OutboxRelay({ databaseUrl: ctx.databaseUrl, schema: SCHEMA, bus, publishedRetentionMs: DAY });
    // Another transaction holds the rows: the prune's DELETE waits with its connection checked out.
    const blocker = db.dataSource.createQueryRunner();
    await blocker.connect();
    try {
      await blocker.startTransaction();
      await blocker.query(`SELECT seq FROM "${SCHEMA}".outbox FOR UPDATE`);
      const pruning = relay.prunePublished();
      let pid: number | undefined;
      await expectEventually(async () => {
        const { rows } = await db.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [`outbox-relay-${SCHEMA}`],
        );
        pid = rows[0]?.pid;
        expect(pid).toBeDefined();
      });
      // As a restart does: the server ends the connection. Unheard, pg's 'error' event on a
      // checked-out client crashed the process (a sessions replica, found under the chaos timing).
      await db.query('SELECT pg_terminate_backend($1)', [pid]);
      await expect(pruning).rejects.toThrow();
      await blocker.rollbackTransaction();
      // The dead connection was not put back: the next prune runs on a new one.
      expect(await relay.prunePublished()).toBe(10);
    } finally {
      await blocker.release();
      await relay.stop();
    }
  });

  it('steps over gaps in seq wider than a batch', async () => {
    await db.query(`DELETE FROM "${SCHEMA}".outbox`);
    await insert(3_000, 3 * DAY, 2 * DAY, 'before-gap');
    await insert(12_000, 3 * DAY, 2 * DAY, 'gap');
    await insert(3_000, 3 * DAY, 2 * DAY, 'after-gap');
    await insert(10, 60_000, 60_000, 'young');
    await db.query(`DELETE FROM "${SCHEMA}".outbox WHERE payload->>'tag' = 'gap'`);
    const relay = new OutboxRelay({
      databaseUrl: ctx.databaseUrl,
      schema: SCHEMA,
      bus,
      publishedRetentionMs: DAY,
    });
    try {
      expect(await relay.prunePublished()).toBe(6_000);
      expect(await remaining()).toEqual({ young: 10 });
    } finally {
      await relay.stop();
    }
  });

  it('keeps everything when retention is 0, and has nothing to do on an empty outbox', async () => {
    const keeper = new OutboxRelay({
      databaseUrl: ctx.databaseUrl,
      schema: SCHEMA,
      bus,
      publishedRetentionMs: 0,
    });
    await insert(10, 3 * DAY, 2 * DAY, 'kept-by-zero');
    try {
      expect(await keeper.prunePublished()).toBe(0);
      expect((await remaining())['kept-by-zero']).toBe(10);
    } finally {
      await keeper.stop();
    }
    await db.query(`DELETE FROM "${SCHEMA}".outbox`);
    const relay = new OutboxRelay({ databaseUrl: ctx.databaseUrl, schema: SCHEMA, bus });
    try {
      expect(await relay.prunePublished()).toBe(0);
    } finally {
      await relay.stop();
    }
  });

  it('reads the primary key, never the whole table, on a large analysed outbox', async () => {
    await insert(40_000, 2 * DAY, 2 * DAY, 'old');
    await insert(40_000, 60_000, 60_000, 'new');
    await db.query(`ANALYZE "${SCHEMA}".outbox`);
    const { rows } = await db.query<{ lo: string; hi: string }>(
      `SELECT min(seq)::text AS lo, max(seq)::text AS hi FROM "${SCHEMA}".outbox`,
    );
    const { lo, hi } = rows[0]!;
    const cutoff = new Date(Date.now() - DAY);
    const { bounds, probe, prune } = pruneStatements(SCHEMA);
    for (const [statement, params] of [
      [bounds, [DAY]],
      [probe, [String((BigInt(lo) + BigInt(hi)) / 2n), cutoff]],
      [prune, [lo, String(BigInt(lo) + 5_000n), cutoff]],
    ] as const) {
      const plan = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${statement}`, [...params]);
      const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(text).toMatch(/(Index|Index Only|Bitmap Index) Scan( Backward)? (using|on) outbox_pkey/);
      expect(text).not.toMatch(/Seq Scan/);
    }
  });
});
