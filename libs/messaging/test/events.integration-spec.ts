import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { AppError, defineEvent, type EventPayload } from '@orgmesh/contracts';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
import { connectBus, DLQ_HEADERS, type EventContext, type MessageBus } from '../src/index.js';
import { readDeadLetters, testLogger } from './helpers.js';

const OrderPlaced = defineEvent({
  subject: 'evtest.v1.order-placed',
  schema: z.object({
    orderId: z.string().min(1),
    amount: z.number().nonnegative(),
    lines: z.array(z.object({ sku: z.string() })),
  }),
});
const OrderShipped = defineEvent({
  subject: 'evtest.v1.order-shipped',
  schema: z.object({ orderId: z.string() }),
});
const OrderBilled = defineEvent({
  subject: 'evtest.v1.order-billed',
  schema: z.object({ orderId: z.string() }),
});
const OrderAudited = defineEvent({
  subject: 'evtest.v1.order-audited',
  schema: z.object({ orderId: z.string() }),
});
const OrderArchived = defineEvent({
  subject: 'evtest.v1.order-archived',
  schema: z.object({ orderId: z.string() }),
});

type Seen<E extends typeof OrderPlaced | typeof OrderShipped> = {
  payload: EventPayload<E>;
  ctx: EventContext;
  at: number;
};

describe('JetStream events: durable consumers, retries and dead letters', () => {
  let ctx: TestContext;
  let producer: MessageBus;
  let consumer: MessageBus;

  beforeAll(async () => {
    ctx = await createTestContext();
    const ns = { url: ctx.natsUrl, subjectPrefix: ctx.subjectPrefix, nameSuffix: ctx.nameSuffix };
    producer = await connectBus({ ...ns, name: 'orders', logger: testLogger('orders') });
    consumer = await connectBus({ ...ns, name: 'billing', logger: testLogger('billing') });
    await producer.ensureStream('evtest');
  });

  afterAll(async () => {
    await consumer?.close();
    if (producer) {
      const deleted = await producer.deleteNamespaceStreams();
      expect(deleted.sort()).toEqual([producer.deadLetterStreamName(), producer.streamName('evtest')].sort());
      await producer.close();
    }
    await ctx?.dispose();
  });

  it('refuses to delete the streams of a namespace without a suffix', async () => {
    const unscoped = await connectBus({ url: ctx.natsUrl, name: 'unscoped', logger: testLogger('unscoped') });
    await expect(unscoped.deleteNamespaceStreams()).rejects.toMatchObject({ code: 'forbidden' });
    await unscoped.close();
  });

  it('provisions the context stream idempotently and de-duplicates by event id', async () => {
    await expect(producer.ensureContractStreams([OrderPlaced, OrderShipped])).resolves.toEqual([
      producer.streamName('evtest'),
    ]);
    const info = await producer.jsm.streams.info(producer.streamName('evtest'));
    expect(info.config.subjects).toEqual([`${ctx.subjectPrefix}evtest.>`]);
    const eventId = randomUUID();
    const first = await producer.publish(OrderArchived, { orderId: 'o-dup' }, { eventId });
    const again = await producer.publish(OrderArchived, { orderId: 'o-dup' }, { eventId });
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ seq: first.seq, duplicate: true });
    await expect(
      producer.publish(OrderArchived, { orderId: 7 } as never, { eventId: randomUUID() }),
    ).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });

  it('delivers an event to a durable consumer that was offline when it was published', async () => {
    const seen: Array<Seen<typeof OrderPlaced>> = [];
    const handler = async (payload: EventPayload<typeof OrderPlaced>, c: EventContext) =>
      void seen.push({ payload, ctx: c, at: Date.now() });
    // A pull still open when the consumer stopped may take the next message; it comes back after ack_wait.
    const options = { ackWaitMs: 1_500 };
    const first = await consumer.consume(OrderPlaced, 'billing--evtest-v1-order-placed', handler, options);
    await producer.publish(OrderPlaced, { orderId: 'o1', amount: 10, lines: [] }, { eventId: randomUUID() });
    await expectEventually(() => expect(seen.map((s) => s.payload.orderId)).toEqual(['o1']));
    await first.stop();

    const eventId = randomUUID();
    await producer.publish(
      OrderPlaced,
      { orderId: 'o2', amount: 20, lines: [{ sku: 'a' }] },
      { eventId, headers: { 'x-tenant': 'acme' } },
    );
    // Nothing is running for the durable now; the event waits for it. o1's ack was sent before stop()
    // returned, but JetStream applies acks apart from its API requests: the count may read o1 as
    // pending for a moment. It settles at 1 well within ack_wait (a lost ack would redeliver o1 there,
    // keeping it at 2).
    await expectEventually(
      async () => {
        const info = await consumer.jsm.consumers.info(first.stream, first.durable);
        expect(info.num_pending + info.num_ack_pending).toBe(1);
      },
      { timeoutMs: 1_000 },
    );
    expect(seen).toHaveLength(1);

    const second = await consumer.consume(OrderPlaced, 'billing--evtest-v1-order-placed', handler, options);
    await expectEventually(() => expect(seen.map((s) => s.payload.orderId)).toEqual(['o1', 'o2']));
    expect(seen[1]?.ctx).toMatchObject({ eventId, subject: OrderPlaced.subject });
    expect(seen[1]?.ctx.headers['x-tenant']).toBe('acme');
    await second.stop();
  });

  it('dead-letters invalid messages with the reason in headers; they never reach the handler', async () => {
    const seen: string[] = [];
    const handle = await consumer.consume(
      OrderShipped,
      'billing--evtest-v1-order-shipped',
      async (p) => void seen.push(p.orderId),
    );
    const subject = producer.subject(OrderShipped.subject);
    // Raw publishes bypass the bus's validation, as a buggy or foreign producer would.
    await producer.js.publish(subject, 'this is not json', { msgID: 'bad-json-1' });
    await producer.js.publish(subject, JSON.stringify({ orderId: 42 }), { msgID: 'bad-schema-1' });
    await producer.publish(OrderShipped, { orderId: 'good' }, { eventId: randomUUID() });

    await expectEventually(() => expect(seen).toEqual(['good']));
    const letters = await expectEventually(async () => {
      const all = (await readDeadLetters(consumer)).filter(
        (l) => l.headers[DLQ_HEADERS.consumer] === handle.durable,
      );
      expect(all).toHaveLength(2);
      return all;
    });
    const byReason = Object.fromEntries(letters.map((l) => [l.headers[DLQ_HEADERS.reason], l]));
    expect(byReason['invalid_json']?.body).toBe('this is not json');
    expect(byReason['validation_failed']?.headers[DLQ_HEADERS.error]).toContain('orderId:');
    for (const letter of letters) {
      expect(letter.subject).toBe(`${ctx.subjectPrefix}dlq.${OrderShipped.subject}`);
      expect(letter.headers[DLQ_HEADERS.originalSubject]).toBe(OrderShipped.subject);
      expect(letter.headers[DLQ_HEADERS.deliveryCount]).toBe('1');
    }
    // Termed, not pending: the consumer has nothing left to redeliver.
    await expectEventually(async () => {
      const info = await consumer.jsm.consumers.info(handle.stream, handle.durable);
      expect(info.num_ack_pending + info.num_pending).toBe(0);
    });
    expect(seen).toEqual(['good']);
    await handle.stop();
  });

  it('naks a retryable failure with backoff and succeeds on redelivery', async () => {
    const attempts: Array<{ n: number; at: number }> = [];
    const done: string[] = [];
    const handle = await consumer.consume(
      OrderBilled,
      'billing--evtest-v1-order-billed',
      async (p, c) => {
        attempts.push({ n: c.deliveryCount, at: Date.now() });
        if (c.deliveryCount < 3) throw new AppError('unavailable', 'ledger is down');
        done.push(p.orderId);
      },
      { backoffMs: [300, 600] },
    );
    await producer.publish(OrderBilled, { orderId: 'b1' }, { eventId: randomUUID() });
    await expectEventually(() => expect(done).toEqual(['b1']), { timeoutMs: 15_000 });
    expect(attempts.map((a) => a.n)).toEqual([1, 2, 3]);
    const [a1, a2, a3] = attempts.map((a) => a.at) as [number, number, number];
    expect(a2 - a1).toBeGreaterThanOrEqual(250);
    expect(a3 - a2).toBeGreaterThanOrEqual(550);
    await expectEventually(async () => {
      const info = await consumer.jsm.consumers.info(handle.stream, handle.durable);
      expect(info.num_ack_pending).toBe(0);
    });
    const letters = (await readDeadLetters(consumer)).filter(
      (l) => l.headers[DLQ_HEADERS.consumer] === handle.durable,
    );
    expect(letters).toHaveLength(0);
    await handle.stop();
  });

  it('dead-letters after max deliveries, and at once for a non-retryable error', async () => {
    const calls = new Map<string, number>();
    const handle = await consumer.consume(
      OrderAudited,
      'billing--evtest-v1-order-audited',
      async (p) => {
        calls.set(p.orderId, (calls.get(p.orderId) ?? 0) + 1);
        if (p.orderId === 'flaky') throw new Error('boom');
        throw new AppError('conflict', 'order already audited');
      },
      { maxDeliver: 3, backoffMs: [20] },
    );
    const flakyId = randomUUID();
    const conflictId = randomUUID();
    await producer.publish(OrderAudited, { orderId: 'flaky' }, { eventId: flakyId });
    await producer.publish(OrderAudited, { orderId: 'conflicting' }, { eventId: conflictId });

    const letters = await expectEventually(async () => {
      const all = (await readDeadLetters(consumer)).filter(
        (l) => l.headers[DLQ_HEADERS.consumer] === handle.durable,
      );
      expect(all).toHaveLength(2);
      return all;
    });
    const flaky = letters.find((l) => l.headers['orgmesh-event-id'] === flakyId);
    const conflict = letters.find((l) => l.headers['orgmesh-event-id'] === conflictId);
    expect(flaky?.headers).toMatchObject({
      [DLQ_HEADERS.reason]: 'max_deliver_exceeded',
      [DLQ_HEADERS.deliveryCount]: '3',
    });
    expect(conflict?.headers).toMatchObject({
      [DLQ_HEADERS.reason]: 'non_retryable_error',
      [DLQ_HEADERS.deliveryCount]: '1',
      'orgmesh-error-code': 'conflict',
    });
    expect(conflict?.headers[DLQ_HEADERS.error]).toContain('order already audited');
    expect(calls.get('flaky')).toBe(3);
    expect(calls.get('conflicting')).toBe(1);
    await handle.stop();
  });
});
