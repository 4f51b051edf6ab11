import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestContext, type TestContext } from '@orgmesh/testing';
import { Database, RetentionJob, retentionBatchStatement, type RetentionTarget } from '../src/index.js';

const SCHEMA = 'rettest';
const DAY = 86_400_000;
const TARGET: RetentionTarget = { name: 'items', table: `${SCHEMA}.items`, ageColumn: 'at', maxAgeMs: 10 * DAY };

/** RetentionJob on a scratch table: batching, its caps and stops, its lock, its refusals. */
describe('RetentionJob', () => {
  let ctx: TestContext;
  let db: Database;

  beforeAll(async () => {
    ctx = await createTestContext();
    db = await Database.connect({ url: ctx.databaseUrl, schema: SCHEMA, poolSize: 3 });
    await db.query(`CREATE SCHEMA "${SCHEMA}"`);
    await db.query(`CREATE TABLE "${SCHEMA}".items (id int PRIMARY KEY, at timestamptz NOT NULL)`);
    await db.query(`CREATE INDEX items_at_idx ON "${SCHEMA}".items (at)`);
  });

  afterAll(async () => {
    await db?.close();
    await ctx?.dispose();
  });

  /** Rows 1…n, row i aged i - ½ days (clear of the 10-day boundary). */
  const seed = async (n: number) => {
    await db.query(`TRUNCATE "${SCHEMA}".items`);
    await db.query(
      `INSERT INTO "${SCHEMA}".items SELECT i, now() - (i - 0.5) * interval '1 day' FROM generate_series(1, $1::int) i`,
      [n],
    );
  };
  const ids = async () =>
    (await db.query<{ id: number }>(`SELECT id FROM "${SCHEMA}".items ORDER BY id`)).rows.map((r) => r.id);

  it('deletes the old rows oldest first in batches, and keeps the young ones', async () => {
    await seed(30);
    const job = new RetentionJob(db, { lockKey: 'ret-a', targets: [TARGET], batchSize: 7 });
    const run = await job.runOnce();
    // Rows 11…30 are older than 10 days: 20 rows, in batches of 7, 7, 6.
    expect(run).toMatchObject({ ran: true, deleted: { items: 20 }, batches: 3 });
    expect(await ids()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('stops at the batch cap, oldest first, and the next run goes on', async () => {
    await seed(30);
    const job = new RetentionJob(db, { lockKey: 'ret-b', targets: [TARGET], batchSize: 5, maxBatchesPerRun: 2 });
    expect(await job.runOnce()).toMatchObject({ deleted: { items: 10 }, stoppedEarly: 'batch-cap' });
    expect((await ids()).at(-1)).toBe(20);
    expect(await job.runOnce()).toMatchObject({ deleted: { items: 10 } });
    expect((await ids()).at(-1)).toBe(10);
  });

  it('rests pauseMs between batches', async () => {
    await seed(30);
    const job = new RetentionJob(db, { lockKey: 'ret-p', targets: [TARGET], batchSize: 5, pauseMs: 150 });
    const started = Date.now();
    // 20 old rows: four full batches (a pause after each) and an empty fifth.
    expect(await job.runOnce()).toMatchObject({ deleted: { items: 20 }, batches: 5 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(4 * 150);
  });

  it('ends after the current batch once stopped', async () => {
    await seed(30);
    const job = new RetentionJob(db, { lockKey: 'ret-c', targets: [TARGET], batchSize: 1 });
    job.stop();
    expect(await job.runOnce()).toMatchObject({ deleted: { items: 0 }, stoppedEarly: 'stopped' });
    expect(await ids()).toHaveLength(30);
  });

  it('leaves a target with retention 0 alone', async () => {
    await seed(30);
    const job = new RetentionJob(db, { lockKey: 'ret-d', targets: [{ ...TARGET, maxAgeMs: 0 }] });
    expect((await job.runOnce()).deleted).toEqual({});
    expect(await ids()).toHaveLength(30);
  });

  it('skips while another replica holds the lock, and stops when one takes it mid-run', async () => {
    await seed(30);
    const other = await db.dataSource.createQueryRunner();
    await other.connect();
    try {
      await other.startTransaction();
      await other.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['ret-e']);
      const job = new RetentionJob(db, { lockKey: 'ret-e', targets: [TARGET], batchSize: 5 });
      expect(await job.runOnce()).toEqual({ ran: false, deleted: { items: 0 }, batches: 0, longestBatchMs: 0 });
      await other.commitTransaction();
      // The lock taken between this run's batches (another replica's turn): the run yields.
      const taking = new RetentionJob(
        {
          query: db.query.bind(db),
          transaction: async (work) => {
            const result = await db.transaction(work);
            if (!other.isTransactionActive) {
              await other.startTransaction();
              await other.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['ret-e']);
            }
            return result;
          },
        },
        { lockKey: 'ret-e', targets: [TARGET], batchSize: 5 },
      );
      expect(await taking.runOnce()).toMatchObject({ ran: true, deleted: { items: 5 }, stoppedEarly: 'lock-taken' });
      await other.rollbackTransaction();
    } finally {
      await other.release();
    }
  });

  it('refuses a table or column that is not a plain identifier', () => {
    expect(() => retentionBatchStatement({ table: 'x; DROP TABLE y', ageColumn: 'at' })).toThrow(/invalid/);
    expect(() => retentionBatchStatement({ table: 'a.b', ageColumn: 'at)--' })).toThrow(/invalid/);
    expect(() => new RetentionJob(db, { lockKey: 'k', targets: [TARGET], batchSize: 0 })).toThrow(/positive/);
  });
});
