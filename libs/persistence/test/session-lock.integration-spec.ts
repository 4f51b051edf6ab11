import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
import { SessionLock } from '../src/index.js';

/** SessionLock on a real Postgres: one holder at a time, and a lock that goes with its connection. */
describe('SessionLock', () => {
  let ctx: TestContext;
  let admin: pg.Client;

  beforeAll(async () => {
    ctx = await createTestContext();
    admin = new pg.Client({ connectionString: ctx.databaseUrl });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await ctx?.dispose();
  });

  it('lets one holder in at a time, and the next one in once it releases', async () => {
    const key = `lock-a-${ctx.nameSuffix}`;
    const first = new SessionLock(ctx.databaseUrl, key);
    const second = new SessionLock(ctx.databaseUrl, key);
    try {
      expect(await first.tryAcquire()).toBe(true);
      expect(await first.tryAcquire()).toBe(true);
      expect(await second.tryAcquire()).toBe(false);
      expect(second.held).toBe(false);
      await first.release();
      expect(first.held).toBe(false);
      expect(await second.tryAcquire()).toBe(true);
      expect(await first.tryAcquire()).toBe(false);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('loses the lock with its connection, without crashing, and another replica takes it', async () => {
    const key = `lock-b-${ctx.nameSuffix}`;
    const app = `lock-holder-${ctx.nameSuffix}`.slice(0, 60);
    const holder = new SessionLock(ctx.databaseUrl, key, { applicationName: app });
    const other = new SessionLock(ctx.databaseUrl, key);
    try {
      expect(await holder.tryAcquire()).toBe(true);
      expect(await other.tryAcquire()).toBe(false);
      // What a Postgres restart or an operator's pg_terminate_backend does to the holder's connection.
      const { rows } = await admin.query<{ n: number }>(
        'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1',
        [app],
      );
      expect(rows[0]?.n).toBe(1);
      await expectEventually(() => expect(holder.held).toBe(false));
      expect(await other.tryAcquire()).toBe(true);
      // The old holder connects again and finds the lock taken.
      expect(await holder.tryAcquire()).toBe(false);
    } finally {
      await holder.close();
      await other.close();
    }
  });

  it('takes nothing once closed', async () => {
    const lock = new SessionLock(ctx.databaseUrl, `lock-c-${ctx.nameSuffix}`);
    await lock.close();
    expect(await lock.tryAcquire()).toBe(false);
  });

  it('ends the connection it was opening when closed meanwhile (a replica stopping while it tries the lock)', async () => {
    const applicationName = `lock-d-${ctx.nameSuffix}`;
    const lock = new SessionLock(ctx.databaseUrl, applicationName, { applicationName });
    const acquiring = lock.tryAcquire();
    await lock.close();
    expect(await acquiring).toBe(false);
    expect(lock.held).toBe(false);
    await expectEventually(async () => {
      const { rows } = await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [
        applicationName,
      ]);
      expect(rows).toHaveLength(0);
    });
  });
});
