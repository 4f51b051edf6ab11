import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { context, SpanKind, trace, type SpanContext } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';
import { z } from 'zod';
import { defineEvent, defineRpc } from '@orgmesh/contracts';
import { createOutboxTables } from '@orgmesh/migrations';
import { Database } from '@orgmesh/persistence';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
import { connectBus, enqueueEvent, OutboxRelay, type MessageBus } from '../src/index.js';
import { deleteStreams, testLogger } from './helpers.js';

const Echo = defineRpc({
  subject: 'rpc.trtest.v1.echo',
  request: z.object({ text: z.string() }),
  response: z.object({ text: z.string() }),
});
const Pinged = defineEvent({ subject: 'trtest.v1.pinged', schema: z.object({ n: z.number() }) });
const SCHEMA = 'trtest';

interface Observed {
  traceparent: string | undefined;
  active: SpanContext | undefined;
}

describe('W3C trace context through NATS headers (with an OpenTelemetry SDK)', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const contextManager = new AsyncLocalStorageContextManager();
  const tracer = () => trace.getTracer('test-caller');
  let ctx: TestContext;
  let bus: MessageBus;
  let db: Database;

  beforeAll(async () => {
    context.setGlobalContextManager(contextManager.enable());
    trace.setGlobalTracerProvider(provider);
    ctx = await createTestContext();
    bus = await connectBus({
      url: ctx.natsUrl,
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      name: 'tracing',
      logger: testLogger('tracing'),
    });
    await bus.ensureStream('trtest');
    db = await Database.connect({ url: ctx.databaseUrl, schema: SCHEMA });
    await db.query(`CREATE SCHEMA "${SCHEMA}"`);
    const runner = db.dataSource.createQueryRunner();
    await createOutboxTables(runner, SCHEMA);
    await runner.release();
  });

  afterAll(async () => {
    if (bus) {
      await deleteStreams(bus.jsm, ctx.nameSuffix);
      await bus.close();
    }
    await db?.close();
    await ctx?.dispose();
    await provider.shutdown();
    trace.disable();
    context.disable();
  });

  beforeEach(() => exporter.reset());

  const spansNamed = (name: string): ReadableSpan[] =>
    exporter.getFinishedSpans().filter((s) => s.name === name);
  const traceparentOf = (sc: SpanContext) => `00-${sc.traceId}-${sc.spanId}-01`;

  it('an RPC handler runs in a SERVER span whose parent is the caller’s CLIENT span, in the caller’s trace', async () => {
    const observed: Observed[] = [];
    const sub = bus.serve(Echo, async (req, c) => {
      observed.push({ traceparent: c.headers['traceparent'], active: trace.getActiveSpan()?.spanContext() });
      return req;
    });
    const caller = await tracer().startActiveSpan('caller', async (span) => {
      await bus.request(Echo, { text: 'hi' });
      span.end();
      return span.spanContext();
    });
    sub.unsubscribe();

    const subject = bus.subject(Echo.subject);
    const [client] = spansNamed(`request ${subject}`);
    const [server] = spansNamed(`serve ${subject}`);
    expect(client?.kind).toBe(SpanKind.CLIENT);
    expect(server?.kind).toBe(SpanKind.SERVER);
    expect(client?.parentSpanContext?.spanId).toBe(caller.spanId);
    expect(client?.spanContext().traceId).toBe(caller.traceId);
    // The traceparent on the wire is the caller-side span; the handler's span is its child.
    expect(observed[0]?.traceparent).toBe(traceparentOf(client!.spanContext()));
    expect(server?.parentSpanContext?.spanId).toBe(client?.spanContext().spanId);
    expect(observed[0]?.active).toEqual(server?.spanContext());
    expect(server?.attributes).toMatchObject({
      'messaging.system': 'nats',
      'messaging.destination.name': subject,
    });
  });

  it('an event handler runs in a CONSUMER span under the publisher’s PRODUCER span', async () => {
    const observed: Observed[] = [];
    const handle = await bus.consume(Pinged, 'tracing--trtest-v1-pinged', async (_p, c) => {
      observed.push({ traceparent: c.headers['traceparent'], active: trace.getActiveSpan()?.spanContext() });
    });
    const caller = await tracer().startActiveSpan('publisher', async (span) => {
      await bus.publish(Pinged, { n: 1 }, { eventId: randomUUID() });
      span.end();
      return span.spanContext();
    });
    await expectEventually(() => expect(observed).toHaveLength(1));
    await handle.stop();

    const subject = bus.subject(Pinged.subject);
    const [producer] = spansNamed(`publish ${subject}`);
    const [consumer] = await expectEventually(() => {
      const found = spansNamed(`process ${subject}`);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(producer?.parentSpanContext?.spanId).toBe(caller.spanId);
    expect(observed[0]?.traceparent).toBe(traceparentOf(producer!.spanContext()));
    expect(consumer?.kind).toBe(SpanKind.CONSUMER);
    expect(consumer?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
    expect(observed[0]?.active?.traceId).toBe(caller.traceId);
  });

  it('an event sent through the outbox continues the trace of the transaction that enqueued it', async () => {
    const observed: Observed[] = [];
    const handle = await bus.consume(Pinged, 'tracing-outbox--trtest-v1-pinged', async (p, c) => {
      if (p.n === 2)
        observed.push({
          traceparent: c.headers['traceparent'],
          active: trace.getActiveSpan()?.spanContext(),
        });
    });
    const relay = new OutboxRelay({ databaseUrl: ctx.databaseUrl, schema: SCHEMA, bus, pollIntervalMs: 100 });
    await relay.start();
    const enqueuer = await tracer().startActiveSpan('enqueue', async (span) => {
      await db.transaction((tx) => enqueueEvent(tx, SCHEMA, Pinged, { n: 2 }));
      span.end();
      return span.spanContext();
    });
    await expectEventually(() => expect(observed).toHaveLength(1));
    await relay.stop();
    await handle.stop();

    // The event was enqueued inside the transaction's span (Database traces transactions).
    const [transaction] = spansNamed('db.transaction');
    expect(transaction?.parentSpanContext?.spanId).toBe(enqueuer.spanId);
    const [producer] = spansNamed(`publish ${bus.subject(Pinged.subject)}`);
    expect(producer?.parentSpanContext?.spanId).toBe(transaction?.spanContext().spanId);
    expect(observed[0]?.active?.traceId).toBe(enqueuer.traceId);
    expect(observed[0]?.traceparent).toBe(traceparentOf(producer!.spanContext()));
  });
});
