import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { AppError, defineEvent } from '@orgmesh/contracts';
import { createOutboxTables } from '@orgmesh/migrations';
import { Database } from '@orgmesh/persistence';
import {
  createTestContext,
  expectEventually,
  startPrivateNats,
  startPrivatePostgres,
  type PrivateNats,
  type PrivatePostgres,
  type TestContext,
} from '@orgmesh/testing';
import {
  connectBus,
  enqueueEvent,
  OutboxRelay,
  processOnce,
  type MessageBus,
  type PublishedEvent,
} from '../src/index.js';
import { deleteStreams, testLogger } from './helpers.js';

const ItemCounted = defineEvent({
  subject: 'obtest.v1.item-counted',
  schema: z.object({ n: z.number().int() }),
});
const SCHEMA = 'obtest';

async function prepareSchema(db: Database): Promise<void> {
  await db.query(`CREATE SCHEMA IF NOT EXISTS "${SCHEMA}"`);
  const runner = db.dataSource.createQueryRunner();
  try {
    await createOutboxTables(runner, SCHEMA);
  } finally {
    await runner.release();
  }
  await db.query(`CREATE TABLE "${SCHEMA}".received (event_id text PRIMARY KEY, n int NOT NULL)`);
}

/** A consumer that records each event through processOnce; some first deliveries "lose their ack" after committing. */
function countingConsumer(db: Database) {
  const stats = { invocations: 0, processed: 0, skipped: 0 };
  const handler = async (payload: { n: number }, ctx: { eventId: string; deliveryCount: number }) => {
    stats.invocations++;
    const first = await processOnce(db, SCHEMA, 'counter', ctx.eventId, async (tx) => {
      await tx.query(`INSERT INTO "${SCHEMA}".received (event_id, n) VALUES ($1, $2)`, [
        ctx.eventId,
        payload.n,
      ]);
    });
    if (first) stats.processed++;
    else stats.skipped++;
    // Simulates a consumer that committed its work but died before acking: the event comes back.
    if (first && payload.n % 10 === 0 && ctx.deliveryCount === 1)
      throw new AppError('unavailable', 'simulated lost ack');
  };
  return { stats, handler };
}

async function receivedNumbers(db: Database): Promise<number[]> {
  const { rows } = await db.query<{ n: number }>(`SELECT n FROM "${SCHEMA}".received ORDER BY n`);
  return rows.map((r) => r.n);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('transactional outbox', () => {
  let ctx: TestContext;
  let db: Database;
  let nats: PrivateNats;
  let producer: MessageBus;
  let consumer: MessageBus;
  let relay: OutboxRelay;
  const published: PublishedEvent[] = [];

  beforeAll(async () => {
    ctx = await createTestContext();
    db = await Database.connect({ url: ctx.databaseUrl, schema: SCHEMA });
    await prepareSchema(db);
    nats = await startPrivateNats();
    const ns = { url: nats.url, subjectPrefix: ctx.subjectPrefix, nameSuffix: ctx.nameSuffix };
    producer = await connectBus({
      ...ns,
      name: 'producer',
      logger: testLogger('producer'),
      publishTimeoutMs: 1_000,
    });
    consumer = await connectBus({ ...ns, name: 'counter', logger: testLogger('counter') });
    await producer.ensureStream('obtest');
    relay = new OutboxRelay({
      databaseUrl: ctx.databaseUrl,
      schema: SCHEMA,
      bus: producer,
      pollIntervalMs: 200,
      onPublished: (event) => published.push(event),
    });
    await relay.start();
  });

  afterAll(async () => {
    await relay?.stop();
    await consumer?.close();
    await producer?.close();
    await nats?.dispose();
    await db?.close();
    await ctx?.dispose();
  });

  it('processes an event once per consumer, and re-runs nothing for a repeat', async () => {
    const eventId = randomUUID();
    let runs = 0;
    const work = async () => void runs++;
    await expect(processOnce(db, SCHEMA, 'unit', eventId, work)).resolves.toBe(true);
    await expect(processOnce(db, SCHEMA, 'unit', eventId, work)).resolves.toBe(false);
    await expect(processOnce(db, SCHEMA, 'other-consumer', eventId, work)).resolves.toBe(true);
    expect(runs).toBe(2);
    // Failed work leaves no processed mark, so the redelivery runs it.
    const failing = randomUUID();
    await expect(
      processOnce(db, SCHEMA, 'unit', failing, async () => Promise.reject(new Error('fails'))),
    ).rejects.toThrow('fails');
    await expect(processOnce(db, SCHEMA, 'unit', failing, work)).resolves.toBe(true);
  });

  it('publishes nothing from a rolled-back transaction and refuses an invalid payload', async () => {
    await expect(
      db.transaction(async (tx) => {
        await enqueueEvent(tx, SCHEMA, ItemCounted, { n: -1 });
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');
    await expect(
      db.transaction((tx) => enqueueEvent(tx, SCHEMA, ItemCounted, { n: 'x' } as never)),
    ).rejects.toMatchObject({
      code: 'validation_failed',
    });
    const { rows } = await db.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM "${SCHEMA}".outbox`,
    );
    expect(rows[0]?.count).toBe(0);
  });

  it('hands each row to onPublished once JetStream holds it, with the subject and bytes it published', async () => {
    const n = 4_242;
    await db.transaction((tx) => enqueueEvent(tx, SCHEMA, ItemCounted, { n }));
    const mine = () =>
      published.filter((e) => (JSON.parse(new TextDecoder().decode(e.data)) as { n: number }).n === n);
    await expectEventually(() => expect(mine()).toHaveLength(1));
    expect(mine()[0]!.subject).toBe(ItemCounted.subject);
    // Called after the ack: the stream already holds it.
    const stored = await producer.jsm.streams.getMessage(producer.streamName('obtest'), {
      last_by_subj: producer.subject(ItemCounted.subject),
    });
    expect(stored?.json<{ n: number }>()).toEqual({ n });
    // The next test counts the stream's messages and consumes it from the start.
    await producer.jsm.streams.deleteMessage(producer.streamName('obtest'), stored!.seq);
  });

  it('delivers every event exactly once (effectively) across a NATS restart during enqueueing', async () => {
    const total = 200;
    const { stats, handler } = countingConsumer(db);
    const handle = await consumer.consume(ItemCounted, 'counter--obtest-v1-item-counted', handler, {
      backoffMs: [50],
      ackWaitMs: 2_000,
    });

    for (const n of range(total)) {
      if (n === 50) await nats.stop();
      await db.transaction((tx) => enqueueEvent(tx, SCHEMA, ItemCounted, { n }));
      if (n === 149) {
        // While NATS is down the outbox keeps everything, and it is visibly behind.
        const lag = await relay.lag();
        expect(lag.pending).toBeGreaterThanOrEqual(100);
        expect(lag.oldestAgeMs).toBeGreaterThan(0);
        await nats.start();
      }
    }

    await expectEventually(async () => expect(await receivedNumbers(db)).toEqual(range(total)), {
      timeoutMs: 45_000,
      intervalMs: 250,
    });
    await expectEventually(async () => expect(await relay.lag()).toEqual({ pending: 0, oldestAgeMs: 0 }));
    // No loss, no double processing; the simulated lost acks were redelivered and skipped.
    await expectEventually(() => {
      expect(stats.skipped).toBeGreaterThanOrEqual(total / 10);
      expect(stats.invocations).toBe(stats.processed + stats.skipped);
    });
    expect(stats.processed).toBe(total);
    // Re-published rows (acks lost in the outage) were dropped by Nats-Msg-Id: the stream holds each event once.
    const info = await producer.jsm.streams.info(producer.streamName('obtest'));
    expect(info.state.messages).toBe(total);
    await handle.stop();
    await deleteStreams(producer.jsm, ctx.nameSuffix);
  }, 90_000);
});

describe('outbox relay across a Postgres restart', () => {
  let ctx: TestContext;
  let pg: PrivatePostgres;
  let db: Database;
  let bus: MessageBus;
  let relay: OutboxRelay;

  beforeAll(async () => {
    ctx = await createTestContext();
    pg = await startPrivatePostgres();
    // The port opens a moment before the server accepts sessions.
    db = await expectEventually(() => Database.connect({ url: pg.url, schema: SCHEMA }), {
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    await prepareSchema(db);
    bus = await connectBus({
      url: ctx.natsUrl,
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      name: 'pg-restart',
      logger: testLogger('pg'),
    });
    await bus.ensureStream('obtest');
    relay = new OutboxRelay({ databaseUrl: pg.url, schema: SCHEMA, bus, pollIntervalMs: 200 });
    await relay.start();
  }, 60_000);

  afterAll(async () => {
    await relay?.stop();
    if (bus) {
      await deleteStreams(bus.jsm, ctx.nameSuffix);
      await bus.close();
    }
    await db?.close();
    await pg?.dispose();
    await ctx?.dispose();
  });

  it('keeps relaying after the database comes back, losing nothing', async () => {
    const seen = new Set<number>();
    const handle = await bus.consume(
      ItemCounted,
      'pg-restart--obtest-v1-item-counted',
      async (p) => void seen.add(p.n),
    );
    for (const n of range(20)) await db.transaction((tx) => enqueueEvent(tx, SCHEMA, ItemCounted, { n }));
    await expectEventually(() => expect(seen.size).toBe(20));

    await pg.stop();
    await pg.start();
    // The pool reconnects on demand; the relay retries with backoff meanwhile.
    await expectEventually(() => db.query('SELECT 1'), { timeoutMs: 20_000, intervalMs: 200 });
    for (const n of range(20).map((i) => i + 20))
      await db.transaction((tx) => enqueueEvent(tx, SCHEMA, ItemCounted, { n }));
    await expectEventually(() => expect([...seen].sort((a, b) => a - b)).toEqual(range(40)), {
      timeoutMs: 30_000,
    });
    await expectEventually(async () => expect((await relay.lag()).pending).toBe(0));
    await handle.stop();
  }, 90_000);
});
