import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import { AppError, defineEvent } from '@orgmesh/contracts';
import type { Database } from '@orgmesh/persistence';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
import { outboxEvent, OutboxWriter, type MessageBus } from '../src/index.js';
import { outboxSchemaAndBus } from './helpers.js';

const SCHEMA = 'writertest';

const ThingCounted = defineEvent({
  subject: 'writertest.v1.thing-counted',
  schema: z.object({ thing: z.string(), n: z.number().int().nonnegative() }),
});

/**
 * The one outbox writer, against real Postgres: what a service's events become in the outbox, alone
 * (`insert`) or inside a statement of the caller's own (`document` + `insertSql` + `notifySql`), and
 * when the relay is woken.
 */
describe('OutboxWriter', () => {
  let ctx: TestContext;
  let db: Database;
  let bus: MessageBus;
  let listener: pg.Client;
  const notifications: string[] = [];
  const writer = new OutboxWriter(SCHEMA);

  beforeAll(async () => {
    ctx = await createTestContext();
    ({ db, bus } = await outboxSchemaAndBus(ctx, SCHEMA, 'writer'));
    await db.query(`CREATE TABLE "${SCHEMA}".things (id uuid PRIMARY KEY, name text NOT NULL UNIQUE)`);
    listener = new pg.Client({ connectionString: ctx.databaseUrl });
    await listener.connect();
    listener.on('notification', (n) => notifications.push(n.channel));
    await listener.query(`LISTEN "${writer.channel}"`);
  });

  afterAll(async () => {
    await listener?.end();
    await bus?.close();
    await db?.close();
    await ctx?.dispose();
  });

  const stored = async (ids: string[]) =>
    (
      await db.query<{
        event_id: string;
        subject: string;
        payload: unknown;
        headers: Record<string, string>;
      }>(
        `SELECT event_id, subject, payload, headers FROM "${SCHEMA}".outbox WHERE event_id = ANY($1::uuid[]) ORDER BY seq`,
        [ids],
      )
    ).rows;

  it('validates an event when the service chooses it: a bad payload or event id fails then, naming the problem', () => {
    expect(() => outboxEvent(ThingCounted, { thing: 'x', n: -1 })).toThrow(AppError);
    expect(() => outboxEvent(ThingCounted, { thing: 'x', n: 1 }, { eventId: 'not-a-uuid' })).toThrow(
      'invalid event id: expected a UUID',
    );
    const event = outboxEvent(ThingCounted, { thing: 'x', n: 1 }, { subject: 'writertest.v1.inbox.someone' });
    expect(event.subject).toBe('writertest.v1.inbox.someone');
    expect(JSON.parse(event.payload)).toEqual({ thing: 'x', n: 1 });
  });

  it('inserts events in order in the caller transaction and wakes the relay once, at commit', async () => {
    const events = [1, 2, 3].map((n) => writer.event(ThingCounted, { thing: `it's "quoted" \\ ü`, n }));
    notifications.length = 0;
    await db.transaction(async (tx) => {
      await writer.insert(tx, events);
      // Not committed: not visible, and Postgres holds the notification back.
      expect(await stored(events.map((e) => e.eventId))).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(notifications).toEqual([]);
    });
    const rows = await stored(events.map((e) => e.eventId));
    expect(rows.map((r) => r.event_id)).toEqual(events.map((e) => e.eventId));
    expect(rows.map((r) => r.payload)).toEqual([1, 2, 3].map((n) => ({ thing: `it's "quoted" \\ ü`, n })));
    expect(rows.every((r) => r.subject === ThingCounted.subject && typeof r.headers === 'object')).toBe(true);
    await expectEventually(() => expect(notifications).toEqual([writer.channel]));
  });

  it('writes nothing when the transaction rolls back', async () => {
    const event = writer.event(ThingCounted, { thing: 'rolled back', n: 1 });
    await expect(
      db.transaction(async (tx) => {
        await writer.insert(tx, [event]);
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');
    expect(await stored([event.eventId])).toEqual([]);
  });

  it("inside the caller's statement, stores only the events of the rows it wrote, in document order", async () => {
    await db.query(`INSERT INTO "${SCHEMA}".things (id, name) VALUES ($1, 'taken')`, [randomUUID()]);
    const things = ['first', 'taken', 'third'].map((name) => ({ id: randomUUID(), name }));
    const events = things.flatMap((thing, i) => [
      { ...writer.event(ThingCounted, { thing: thing.name, n: i }), key: thing.id },
      { ...writer.event(ThingCounted, { thing: thing.name, n: i + 10 }), key: thing.id },
    ]);
    notifications.length = 0;
    const { rows } = await db.query<{ id: string; notified: number }>(
      `WITH v AS (SELECT * FROM unnest($1::uuid[], $2::text[]) AS v(id, name)),
            written AS (
              INSERT INTO "${SCHEMA}".things (id, name) SELECT id, name FROM v
              ON CONFLICT (name) DO NOTHING RETURNING id),
            o AS (${writer.insertSql(3, 'written')})
       SELECT id, ${writer.notifySql(4, 'o')} FROM written`,
      [things.map((t) => t.id), things.map((t) => t.name), writer.document(events), writer.channel],
    );
    expect(rows.map((r) => r.id).sort()).toEqual([things[0]!.id, things[2]!.id].sort());
    const kept = events.filter((e) => e.key !== things[1]!.id);
    expect((await stored(events.map((e) => e.eventId))).map((r) => r.event_id)).toEqual(
      kept.map((e) => e.eventId),
    );
    await expectEventually(() => expect(notifications).toEqual([writer.channel]));
  });

  it('refuses a schema name it would have to quote', () => {
    expect(() => new OutboxWriter('bad"; DROP TABLE x; --')).toThrow('invalid schema name');
  });
});
