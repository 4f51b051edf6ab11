import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { AppError, defineEvent, defineRpc } from '@orgmesh/contracts';
import { createOutboxTables } from '@orgmesh/migrations';
import { Database } from '@orgmesh/persistence';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
import { connectBus, OutboxRelay, type MessageBus } from '../src/index.js';
import { testLogger } from './helpers.js';

const Lookup = defineRpc({
  subject: 'rpc.mtest.v1.lookup',
  request: z.object({ id: z.string() }),
  response: z.object({ id: z.string() }),
});
const Happened = defineEvent({ subject: 'mtest.v1.happened', schema: z.object({ n: z.number() }) });
const SCHEMA = 'mtest';

/** One sample's value from the Prometheus text, by series name and exact label set. */
function sample(text: string, series: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== series) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

/** An unlabelled series' value from the Prometheus text. */
function unlabelled(text: string, series: string): number | undefined {
  const match = new RegExp(`^${series} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

describe('bus metrics: RPC handler latency, consumer redeliveries, outbox lag', () => {
  let ctx: TestContext;
  let registry: Registry;
  let server: MessageBus;
  let client: MessageBus;
  let db: Database;

  beforeAll(async () => {
    ctx = await createTestContext();
    registry = new Registry();
    const ns = { url: ctx.natsUrl, subjectPrefix: ctx.subjectPrefix, nameSuffix: ctx.nameSuffix };
    server = await connectBus({ ...ns, name: 'mtest', logger: testLogger('mtest'), metrics: registry });
    client = await connectBus({ ...ns, name: 'mtest-client', logger: testLogger('mtest-client') });
    await server.ensureStream('mtest');
    db = await Database.connect({ url: ctx.databaseUrl, schema: SCHEMA });
    await db.query(`CREATE SCHEMA "${SCHEMA}"`);
    const runner = db.dataSource.createQueryRunner();
    await createOutboxTables(runner, SCHEMA);
    await runner.release();
  });

  afterAll(async () => {
    await client?.close();
    if (server) {
      await server.deleteNamespaceStreams();
      await server.close();
    }
    await db?.close();
    await ctx?.dispose();
  });

  it('declares no series before it has something to put in them (a bus that only asks shows none)', async () => {
    await server.nc.flush();
    const names = (await registry.getMetricsAsJSON()).map((metric) => metric.name);
    expect(names).not.toContain('orgmesh_rpc_server_duration_seconds');
    expect(names).not.toContain('orgmesh_consumer_redeliveries_total');
    expect(names).not.toContain('orgmesh_outbox_lag_seconds');
    expect(names).not.toContain('orgmesh_outbox_pending');
  });

  it('observes each RPC handled, by contract subject and result', async () => {
    server.serve(Lookup, async ({ id }) => {
      if (id === 'missing') throw new AppError('not_found', 'no such thing');
      return { id };
    });
    // The subscription must reach the server before another connection asks.
    await server.nc.flush();
    await client.request(Lookup, { id: 'a' });
    await client.request(Lookup, { id: 'b' });
    await expect(client.request(Lookup, { id: 'missing' })).rejects.toMatchObject({ code: 'not_found' });
    const text = await registry.metrics();
    const count = (result: string) =>
      sample(text, 'orgmesh_rpc_server_duration_seconds_count', { subject: Lookup.subject, result });
    expect(count('ok')).toBe(2);
    expect(count('not_found')).toBe(1);
    expect(text).toContain('orgmesh_rpc_server_duration_seconds_bucket{le="0.005"');
  });

  it('counts deliveries after the first, per consumer and subject', async () => {
    const attempts = new Map<number, number>();
    const durable = 'mtest-consumer';
    const handle = await server.consume(
      Happened,
      durable,
      async ({ n }) => {
        const seen = (attempts.get(n) ?? 0) + 1;
        attempts.set(n, seen);
        // n=1 succeeds at once; n=2 fails twice before it succeeds.
        if (n === 2 && seen < 3) throw new AppError('unavailable', 'not yet');
      },
      { backoffMs: [20] },
    );
    try {
      await client.publish(Happened, { n: 1 }, { eventId: randomUUID() });
      await client.publish(Happened, { n: 2 }, { eventId: randomUUID() });
      await expectEventually(() => expect(attempts.get(2)).toBe(3));
      await expectEventually(async () =>
        expect(
          sample(await registry.metrics(), 'orgmesh_consumer_redeliveries_total', {
            consumer: server.durableName(durable),
            subject: Happened.subject,
          }),
        ).toBe(2),
      );
      expect(attempts.get(1)).toBe(1);
    } finally {
      await handle.stop();
    }
  });

  it('reports the age of the oldest unpublished outbox row and the rows pending, and 0 once the relay has published them', async () => {
    // A long poll interval: the row below is inserted without NOTIFY, so it waits for us to wake the relay.
    const relay = new OutboxRelay({
      databaseUrl: ctx.databaseUrl,
      schema: SCHEMA,
      bus: server,
      pollIntervalMs: 60_000,
    });
    await relay.start();
    try {
      await expectEventually(async () =>
        expect(sample(await registry.metrics(), 'orgmesh_outbox_lag_seconds', { schema: SCHEMA })).toBe(0),
      );
      await db.query(
        `INSERT INTO "${SCHEMA}".outbox (event_id, subject, payload, created_at)
         VALUES ($1, $2, '{"n":3}'::jsonb, now() - interval '30 seconds')`,
        [randomUUID(), Happened.subject],
      );
      const lag = sample(await registry.metrics(), 'orgmesh_outbox_lag_seconds', { schema: SCHEMA });
      expect(lag).toBeGreaterThanOrEqual(30);
      expect(lag).toBeLessThan(60);
      expect(unlabelled(await registry.metrics(), 'orgmesh_outbox_pending')).toBe(1);
      await db.query(`SELECT pg_notify($1, '')`, [`orgmesh_outbox_${SCHEMA}`]);
      await expectEventually(async () =>
        expect(sample(await registry.metrics(), 'orgmesh_outbox_lag_seconds', { schema: SCHEMA })).toBe(0),
      );
      expect(unlabelled(await registry.metrics(), 'orgmesh_outbox_pending')).toBe(0);
    } finally {
      await relay.stop();
    }
  });
});
