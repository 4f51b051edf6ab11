import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Database } from '@orgmesh/persistence';
import { createTestContext, type TestContext } from '@orgmesh/testing';
import { OutboxRelay, type MessageBus } from '../src/index.js';
import { outboxSchemaAndBus } from './helpers.js';

const SCHEMA = 'lagtest';

/**
 * The outbox gauges' source (relay.lag(), read at every scrape): right on a large outbox, and one
 * statement per scrape for the two gauges that read it.
 */
describe('outbox lag', () => {
  let ctx: TestContext;
  let db: Database;
  let bus: MessageBus;

  beforeAll(async () => {
    ctx = await createTestContext();
    ({ db, bus } = await outboxSchemaAndBus(ctx, SCHEMA, 'lag'));
  });

  afterAll(async () => {
    await bus?.close();
    await db?.close();
    await ctx?.dispose();
  });

  it('counts the unpublished rows and ages the oldest, and reads at the same time share one statement', async () => {
    // 50,000 published rows and three waiting, the oldest of them created an hour ago.
    await db.query(
      `INSERT INTO "${SCHEMA}".outbox (event_id, subject, payload, created_at, published_at)
       SELECT gen_random_uuid(), 'lagtest.v1.thing', '{}'::jsonb, now() - interval '2 hours', now() - interval '1 hour'
         FROM generate_series(1, 50000)`,
    );
    await db.query(
      `INSERT INTO "${SCHEMA}".outbox (event_id, subject, payload, created_at)
       VALUES (gen_random_uuid(), 'lagtest.v1.thing', '{}'::jsonb, now() - interval '1 hour'),
              (gen_random_uuid(), 'lagtest.v1.thing', '{}'::jsonb, now() - interval '1 minute'),
              (gen_random_uuid(), 'lagtest.v1.thing', '{}'::jsonb, now())`,
    );
    // Not started: nothing publishes the three meanwhile.
    const relay = new OutboxRelay({ databaseUrl: ctx.databaseUrl, schema: SCHEMA, bus, publishedRetentionMs: 0 });
    const pool = (relay as unknown as { pool: { query: (...args: unknown[]) => unknown } }).pool;
    const spy = jest.spyOn(pool, 'query');
    try {
      const [first, second] = await Promise.all([relay.lag(), relay.lag()]);
      expect(first.pending).toBe(3);
      expect(first.oldestAgeMs).toBeGreaterThanOrEqual(3_600_000);
      expect(first.oldestAgeMs).toBeLessThan(3_660_000);
      expect(second).toEqual(first);
      expect(spy).toHaveBeenCalledTimes(1);
      // A later scrape reads again.
      await db.query(`UPDATE "${SCHEMA}".outbox SET published_at = now() WHERE published_at IS NULL`);
      expect(await relay.lag()).toEqual({ pending: 0, oldestAgeMs: 0 });
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
      await relay.stop();
    }
  });
});
