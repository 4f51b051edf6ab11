import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppError } from '@orgmesh/contracts';
import { createTestContext, freePort, type TestContext } from '@orgmesh/testing';
import { Database, pgErrorCode } from '../src/index.js';

const SCHEMA = 'dbprepared';

/** Named prepared statements (QueryOptions.name) on the pool and inside transactions, against real Postgres. */
describe('Database named statements', () => {
  let ctx: TestContext;
  let db: Database;

  beforeAll(async () => {
    ctx = await createTestContext();
    db = await Database.connect({ url: ctx.databaseUrl, schema: SCHEMA, poolSize: 2 });
    await db.query(`CREATE SCHEMA "${SCHEMA}"`);
    await db.query(`CREATE TABLE "${SCHEMA}".items (id int PRIMARY KEY, tags text[] NOT NULL)`);
  });

  afterAll(async () => {
    await db?.close();
    await ctx?.dispose();
  });

  const insert = `INSERT INTO items (id, tags) SELECT v.id, ARRAY[v.tag] FROM unnest($1::int[], $2::text[]) AS v(id, tag) RETURNING id`;

  it('answers rows and counts like an unnamed query, across calls and pooled connections', async () => {
    const first = await db.query<{ id: number }>(
      insert,
      [
        [1, 2],
        ['a', "it's"],
      ],
      { name: 'items-insert' },
    );
    expect(first).toEqual({ rows: [{ id: 1 }, { id: 2 }], rowCount: 2 });
    // Reused many times, concurrently: the pool hands out both connections, each prepares once.
    const more = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        db.query<{ id: number }>(insert, [[10 + i], ['x']], { name: 'items-insert' }),
      ),
    );
    expect(more.map((r) => r.rows[0]?.id)).toEqual(Array.from({ length: 10 }, (_, i) => 10 + i));
    const updated = await db.query(`UPDATE items SET tags = tags || $1::text WHERE id < $2`, ['y', 5], {
      name: 'items-tag',
    });
    expect(updated.rowCount).toBe(2);
    const { rows } = await db.query<{ id: number; tags: string[] }>(
      `SELECT id, tags FROM items WHERE id = $1`,
      [2],
      {
        name: 'items-get',
      },
    );
    expect(rows).toEqual([{ id: 2, tags: ["it's", 'y'] }]);
  });

  it('runs inside a transaction on its connection, and rolls back with it', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query(insert, [[100], ['t']], { name: 'items-insert' });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await db.query(`SELECT 1 FROM items WHERE id = 100`)).rows).toHaveLength(0);
  });

  it('keeps the pg error code of a failed statement and maps an unreachable server to unavailable', async () => {
    const error = await db.query(insert, [[1], ['dup']], { name: 'items-insert' }).catch((e: unknown) => e);
    expect(pgErrorCode(error)).toBe('23505');
    // Through TypeORM's QueryFailedError (unnamed statement) and wrapped by a caller, as the mesh
    // router's twin-request path sees it.
    const typeorm = await db.query(`INSERT INTO items (id, tags) VALUES (1, '{}')`).catch((e: unknown) => e);
    expect(pgErrorCode(new AppError('conflict', 'duplicate', { cause: typeorm }))).toBe('23505');
    const down = await Database.connect({
      url: `postgres://postgres@127.0.0.1:${await freePort()}/postgres`,
      schema: SCHEMA,
      connectTimeoutMs: 500,
    }).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(AppError);
    expect((down as AppError).code).toBe('unavailable');
    // Neither the AppError's code nor the socket's errno underneath is a SQLSTATE.
    expect(pgErrorCode(down)).toBeUndefined();
  });

  it('plans named statements generically on a pool opened with planCacheMode, and at each execution otherwise', async () => {
    // One connection each, so the statistics read back are those of the connection that ran them.
    const generic = await Database.connect({
      url: ctx.databaseUrl,
      schema: SCHEMA,
      poolSize: 1,
      planCacheMode: 'force_generic_plan',
    });
    const chosen = await Database.connect({ url: ctx.databaseUrl, schema: SCHEMA, poolSize: 1 });
    try {
      const plans = async (pool: Database) => {
        for (let i = 0; i < 8; i++)
          await pool.query(`SELECT id FROM items WHERE id = ANY($1::int[])`, [[i, i + 1]], {
            name: 'items-any',
          });
        const { rows } = await pool.query<{ generic: number; custom: number; mode: string }>(
          `SELECT generic_plans::int AS generic, custom_plans::int AS custom, current_setting('plan_cache_mode') AS mode
             FROM pg_prepared_statements WHERE name = 'items-any'`,
        );
        return rows[0];
      };
      expect(await plans(generic)).toEqual({ generic: 8, custom: 0, mode: 'force_generic_plan' });
      // Postgres's own choice (auto) plans the first five executions with their values at least.
      const auto = await plans(chosen);
      expect(auto?.mode).toBe('auto');
      expect(auto?.custom).toBeGreaterThanOrEqual(5);
    } finally {
      await generic.close();
      await chosen.close();
    }
  });

  it('refuses a plan_cache_mode Postgres does not have (it is spliced into the connection options)', async () => {
    await expect(
      Database.connect({
        url: ctx.databaseUrl,
        schema: SCHEMA,
        planCacheMode: 'force_generic_plan -c statement_timeout=1' as 'auto',
      }),
    ).rejects.toThrow('invalid plan_cache_mode');
  });
});
