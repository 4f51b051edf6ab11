import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import { connect } from '@nats-io/transport-node';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import { AckPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import { defineEvent, defineRpc } from '@orgmesh/contracts';
import { connectBus, enqueueEvent, OutboxRelay, type ConsumerHandle } from '@orgmesh/messaging';
import { createOutboxTables } from '@orgmesh/migrations';
import { Database } from '@orgmesh/persistence';
import { createLogger } from '@orgmesh/telemetry';
import { benchNamespace, benchEnv, progress, runComparison, type BenchResult } from './harness.js';

/**
 * Foundation benchmarks (issue 2): what libs/messaging and the outbox cost over the raw clients.
 * - raw NATS request/reply vs MessageBus.request/serve (validation both ways, headers, tracing hooks);
 * - raw JetStream publish → pull consume vs MessageBus.publish → consume vs an outbox-relayed event
 *   (Postgres transaction → NOTIFY → relay → JetStream → consumer), latency measured end to end;
 * - raw Postgres single-row commits (pg) vs the same through @orgmesh/persistence (TypeORM).
 * Everything runs in its own subject prefix, stream suffix and database, removed afterwards.
 */

const EchoRpc = defineRpc({
  subject: 'rpc.benchfoundation.v1.echo',
  request: z.object({ id: z.string(), n: z.number().int(), tags: z.array(z.string()) }),
  response: z.object({ id: z.string(), n: z.number().int(), tags: z.array(z.string()) }),
});
const Measured = defineEvent({
  subject: 'benchfoundation.v1.measured',
  schema: z.object({ id: z.string(), n: z.number().int(), tags: z.array(z.string()) }),
});
const Relayed = defineEvent({
  subject: 'benchfoundation.v1.relayed',
  schema: z.object({ id: z.string(), n: z.number().int(), tags: z.array(z.string()) }),
});

const SCHEMA = 'bench_foundation';
const PAYLOAD = { n: 42, tags: ['finance', 'approval'] };
const RPC_DURATION_MS = 3_000;
const EVENT_DURATION_MS = 3_000;

/** Completes the operation waiting for an id when its message arrives. */
class Arrivals {
  private readonly waiting = new Map<string, () => void>();
  expect(id: string): Promise<void> {
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }
  arrived(id: string): void {
    const resolve = this.waiting.get(id);
    this.waiting.delete(id);
    resolve?.();
  }
  /** Bounds an operation so a lost message fails one sample instead of hanging the run. */
  async within<T>(ms: number, promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        promise,
        new Promise<never>(
          (_, reject) => (timer = setTimeout(() => reject(new Error(`no delivery in ${ms} ms`)), ms)),
        ),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}



export async function run(): Promise<BenchResult[]> {
  const env = benchEnv();
  const ns = await benchNamespace('bf');
  const { token, subjectPrefix: prefix, nameSuffix: suffix, databaseUrl: dbUrl } = ns;
  const logger = createLogger({ service: 'bench', level: process.env['LOG_LEVEL'] ?? 'warn' });
  const results: BenchResult[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];

  cleanups.push(() => ns.dispose());
  const raw: NatsConnection[] = [];
  try {
    const rawServer = await connect({ servers: env.natsUrl, name: 'bench-raw-server', noAsyncTraces: true });
    const rawClient = await connect({ servers: env.natsUrl, name: 'bench-raw-client', noAsyncTraces: true });
    raw.push(rawServer, rawClient);
    const busOptions = { url: env.natsUrl, subjectPrefix: prefix, nameSuffix: suffix, logger };
    const serverBus = await connectBus({ ...busOptions, name: 'bench-server' });
    const clientBus = await connectBus({ ...busOptions, name: 'bench-client' });
    cleanups.push(
      () => serverBus.close(),
      () => clientBus.close(),
    );

    // ------------------------------------------------------------ request/reply
    progress('  request/reply');
    const rawSubject = `${prefix}raw.echo`;
    rawServer.subscribe(rawSubject, { queue: 'bench', callback: (_e, m) => void m.respond(m.data) });
    serverBus.serve(EchoRpc, async (req) => req);
    await rawServer.flush();
    await serverBus.nc.flush();
    const rawRequest = async (_w: unknown, i: number) => {
      const reply = await rawClient.request(rawSubject, JSON.stringify({ id: `r${i}`, ...PAYLOAD }), {
        timeout: 5_000,
      });
      reply.json();
    };
    const busRequest = (_w: unknown, i: number) => clientBus.request(EchoRpc, { id: `r${i}`, ...PAYLOAD });
    for (const concurrency of [1, 16]) {
      const baseline = `nats.request-reply.raw.c${concurrency}`;
      results.push(
        ...(await runComparison([
          {
            name: baseline,
            concurrency,
            durationMs: RPC_DURATION_MS,
            op: rawRequest,
            notes: 'JSON body echoed by a core subscription',
          },
          {
            name: `messaging.rpc.c${concurrency}`,
            baseline,
            concurrency,
            durationMs: RPC_DURATION_MS,
            op: busRequest,
            notes: 'MessageBus.request → serve: zod on request and response, headers, spans (no SDK)',
          },
        ])),
      );
    }

    // ------------------------------------------------------------ events
    progress('  events');
    const js = jetstream(rawClient);
    const jsm = await jetstreamManager(rawClient);
    const rawStream = `RAWJS${suffix}`;
    await jsm.streams.add({
      name: rawStream,
      subjects: [`${prefix}rawjs.>`],
      duplicate_window: nanos(120_000),
    });
    await jsm.consumers.add(rawStream, {
      durable_name: `raw${suffix}`,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(30_000),
    });
    const rawArrivals = new Arrivals();
    const rawMessages: ConsumerMessages = await (
      await jetstream(rawServer).consumers.get(rawStream, `raw${suffix}`)
    ).consume({ max_messages: 256 });
    void (async () => {
      for await (const m of rawMessages) {
        m.ack();
        rawArrivals.arrived(m.headers?.get('Nats-Msg-Id') ?? '');
      }
    })();
    cleanups.push(() => rawMessages.close());

    await clientBus.ensureStream('benchfoundation');
    const busArrivals = new Arrivals();
    const consumers: ConsumerHandle[] = [];
    consumers.push(
      await serverBus.consume(
        Measured,
        'bench--benchfoundation-v1-measured',
        async (p) => busArrivals.arrived(p.id),
        { concurrency: 32 },
      ),
    );
    const outboxArrivals = new Arrivals();
    consumers.push(
      await serverBus.consume(
        Relayed,
        'bench--benchfoundation-v1-relayed',
        async (p) => outboxArrivals.arrived(p.id),
        { concurrency: 32 },
      ),
    );
    cleanups.push(() => Promise.all(consumers.map((c) => c.stop())));

    const db = await Database.connect({ url: dbUrl, schema: SCHEMA, poolSize: 20 });
    cleanups.push(() => db.close());
    await db.query(`CREATE SCHEMA "${SCHEMA}"`);
    const runner = db.dataSource.createQueryRunner();
    await createOutboxTables(runner, SCHEMA);
    await runner.release();
    await db.query(
      `CREATE TABLE "${SCHEMA}".commit_rows (id bigserial PRIMARY KEY, body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
    );
    const relay = new OutboxRelay({ databaseUrl: dbUrl, schema: SCHEMA, bus: clientBus, logger });
    await relay.start();
    cleanups.push(() => relay.stop());

    // Ids carry the concurrency: each scenario restarts its sequence, and JetStream would drop a repeated msgID.
    const rawPublishConsume = (c: number) => async (_w: unknown, i: number) => {
      const id = `${token}-raw-c${c}-${i}`;
      const arrived = rawArrivals.expect(id);
      await js.publish(`${prefix}rawjs.measured`, JSON.stringify({ id, ...PAYLOAD }), { msgID: id });
      await rawArrivals.within(10_000, arrived);
    };
    const busPublishConsume = (c: number) => async (_w: unknown, i: number) => {
      const id = `${token}-bus-c${c}-${i}`;
      const arrived = busArrivals.expect(id);
      await clientBus.publish(Measured, { id, ...PAYLOAD }, { eventId: randomUUID() });
      await busArrivals.within(10_000, arrived);
    };
    const dualWrite = (c: number) => async (_w: unknown, i: number) => {
      const id = `${token}-dual-c${c}-${i}`;
      const arrived = busArrivals.expect(id);
      await db.transaction((tx) => tx.query(`INSERT INTO "${SCHEMA}".commit_rows (body) VALUES ($1)`, [id]));
      await clientBus.publish(Measured, { id, ...PAYLOAD }, { eventId: randomUUID() });
      await busArrivals.within(10_000, arrived);
    };
    const outboxRelayed = (c: number) => async (_w: unknown, i: number) => {
      const id = `${token}-ob-c${c}-${i}`;
      const arrived = outboxArrivals.expect(id);
      await db.transaction((tx) => enqueueEvent(tx, SCHEMA, Relayed, { id, ...PAYLOAD }));
      await outboxArrivals.within(10_000, arrived);
    };
    for (const concurrency of [1, 16]) {
      const baseline = `jetstream.publish-consume.raw.c${concurrency}`;
      const common = { baseline, concurrency, durationMs: EVENT_DURATION_MS };
      results.push(
        ...(await runComparison([
          {
            name: baseline,
            concurrency,
            durationMs: EVENT_DURATION_MS,
            op: rawPublishConsume(concurrency),
            notes: 'js.publish (acked) → pull consumer, ack',
          },
          {
            ...common,
            name: `messaging.publish-consume.c${concurrency}`,
            op: busPublishConsume(concurrency),
            notes: 'MessageBus.publish → consume: validated both ends, explicit ack',
          },
          {
            ...common,
            name: `dual-write.commit-then-publish.c${concurrency}`,
            op: dualWrite(concurrency),
            notes:
              'reference, not safe: commit a row, then MessageBus.publish (an event is lost if the process dies in between)',
          },
          {
            ...common,
            name: `outbox.relayed-event.c${concurrency}`,
            op: outboxRelayed(concurrency),
            notes: 'Postgres tx (insert + NOTIFY) → relay (SKIP LOCKED batch, publish, mark) → consumer',
          },
        ])),
      );
    }
    const lag = await relay.lag();
    if (lag.pending > 0) progress(`    ! outbox still has ${lag.pending} unpublished rows after the run`);

    // ------------------------------------------------------------ Postgres commits
    progress('  postgres commits');
    const pool = new pg.Pool({ connectionString: dbUrl, max: 16 });
    cleanups.push(() => pool.end());
    const body = JSON.stringify(PAYLOAD);
    const rawCommit = () => pool.query(`INSERT INTO "${SCHEMA}".commit_rows (body) VALUES ($1)`, [body]);
    const persistenceCommit = () =>
      db.transaction((tx) => tx.query(`INSERT INTO "${SCHEMA}".commit_rows (body) VALUES ($1)`, [body]));
    for (const concurrency of [1, 16]) {
      const baseline = `postgres.single-row-commit.raw.c${concurrency}`;
      results.push(
        ...(await runComparison([
          {
            name: baseline,
            concurrency,
            durationMs: RPC_DURATION_MS,
            op: rawCommit,
            notes: 'pg Pool, one INSERT per implicit transaction',
          },
          {
            name: `persistence.single-row-commit.c${concurrency}`,
            baseline,
            concurrency,
            durationMs: RPC_DURATION_MS,
            op: persistenceCommit,
            notes: 'Database.transaction (TypeORM QueryRunner): BEGIN, INSERT, COMMIT',
          },
        ])),
      );
    }
    return results;
  } finally {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => progress(`    cleanup failed: ${String(error)}`));
    for (const nc of raw) await nc.close().catch(() => undefined);
  }
}
