import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { AppError, defineEvent, defineRpc } from '@orgmesh/contracts';
import {
  createTestContext,
  deepJsonText,
  expectEventually,
  fuzzBudget,
  fuzzEdge,
  publishRawProtocol,
  rawResponder,
  recordProcessFaults,
  replyProblem,
  requestRaw,
  type TestContext,
} from '@orgmesh/testing';
import { createLogger } from '@orgmesh/telemetry';
import { connectBus, DLQ_HEADERS, type ConsumerHandle, type MessageBus } from '../src/index.js';
import { deleteStreams, readDeadLetters, testLogger } from './helpers.js';

/** A fuzz test's timeout: its time budget in `npm run fuzz` (FUZZ_LONG=1), plus a minute for the rest. */
const FUZZ_TIMEOUT_MS = (fuzzBudget(1).timeLimitMs ?? 0) + 60_000;

/**
 * The bus's last-resort boundary (issue 17): whatever a request or an event holds, and whatever
 * its handler throws, the caller gets a typed reply, a poison event is dead-lettered, the
 * subscription keeps serving, and nothing reaches the process-level handlers.
 */
const Echo = defineRpc({
  subject: 'rpc.boundarytest.v1.echo',
  request: z.object({ mode: z.string(), data: z.json().optional() }),
  response: z.object({ mode: z.string(), text: z.string().optional(), extra: z.unknown().optional() }),
});
/** An event whose schema has a bug: its refinement throws on one value. */
const Fragile = defineEvent({
  subject: 'boundarytest.v1.fragile',
  schema: z.object({ mode: z.string() }).superRefine((value) => {
    if (value.mode === 'explode') throw new Error('refinement bug');
  }),
});
/** Served by a hostile peer in one test: its replies carry a header block nats.js cannot read. */
const Relay = defineRpc({
  subject: 'rpc.boundarytest.v1.relay',
  request: z.object({}),
  response: z.object({}),
});
const Noted = defineEvent({
  subject: 'boundarytest.v1.noted',
  schema: z.object({ mode: z.string(), data: z.json().optional() }),
});

function circular(): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  value['self'] = value;
  return value;
}

describe('the bus boundary: hostile requests and events', () => {
  let ctx: TestContext;
  let service: MessageBus;
  let caller: MessageBus;
  let registry: Registry;
  let consumer: ConsumerHandle;
  let fragileConsumer: ConsumerHandle;
  const fragileHandled: string[] = [];
  const handledEvents: string[] = [];
  const recorder = recordProcessFaults();
  const timeoutMs = 3000;
  const logLines: string[] = [];

  const raw = (body: string | Uint8Array, authorization?: string) =>
    requestRaw(
      caller.nc,
      caller.subject(Echo.subject),
      typeof body === 'string' ? new TextEncoder().encode(body) : body,
      {
        timeoutMs,
        authorization,
      },
    );
  const unexpectedCount = async (edge: string) => {
    const metric = await registry.getSingleMetric('orgmesh_unexpected_errors_total')?.get();
    return (metric?.values ?? []).filter((v) => v.labels['edge'] === edge).reduce((n, v) => n + v.value, 0);
  };

  beforeAll(async () => {
    ctx = await createTestContext();
    registry = new Registry();
    const ns = { url: ctx.natsUrl, subjectPrefix: ctx.subjectPrefix, nameSuffix: ctx.nameSuffix };
    // The service's log lines are kept: what the boundary writes is part of its contract.
    const logger = createLogger({
      service: 'boundary',
      level: 'info',
      destination: { write: (line: string) => void logLines.push(line) },
    });
    service = await connectBus({ ...ns, name: 'boundary', logger, metrics: registry });
    caller = await connectBus({ ...ns, name: 'caller', logger: testLogger('caller') });
    service.serve(Echo, async ({ mode }) => {
      switch (mode) {
        case 'throw':
          throw new Error('unexpected: a@example.test');
        case 'throw-string':
          throw 'not even an Error';
        case 'reject-null':
          return Promise.reject(null as unknown as Error);
        case 'huge':
          // Above the server's max_payload (1 MiB by default): the reply itself cannot be sent.
          return { mode, text: 'x'.repeat(2 * 1024 * 1024) };
        case 'bad-details':
          throw new AppError('conflict', 'details that cannot be encoded', { details: { loop: circular() } });
        case 'bigint':
          // Valid for the schema, yet JSON.stringify throws on it.
          return { mode, extra: 10n };
        case 'off-contract':
          return { text: 'no mode' } as unknown as { mode: string };
        case 'overflow': {
          const recurse = (n: number): number => recurse(n + 1) + 1;
          return { mode, text: String(recurse(0)) };
        }
        default:
          return { mode };
      }
    });
    await service.ensureStream('boundarytest');
    consumer = await service.consume(
      Noted,
      'boundary-noted',
      async ({ mode }) => {
        if (mode === 'throw') throw new Error('handler bug');
        if (mode === 'refuse') throw new AppError('conflict', 'not now, not ever');
        handledEvents.push(mode);
      },
      { maxDeliver: 2, backoffMs: [10], ackWaitMs: 2000 },
    );
    fragileConsumer = await service.consume(
      Fragile,
      'boundary-fragile',
      async ({ mode }) => {
        fragileHandled.push(mode);
      },
      { maxDeliver: 2, backoffMs: [10], ackWaitMs: 2000 },
    );
    await service.nc.flush();
  });

  afterAll(async () => {
    recorder.stop();
    await consumer?.stop();
    await fragileConsumer?.stop();
    if (service) {
      await deleteStreams(service.jsm, ctx.nameSuffix);
      await service.close();
    }
    await caller?.close();
    await ctx?.dispose();
  });

  it.each([
    ['throw', 'internal'],
    ['throw-string', 'internal'],
    ['reject-null', 'internal'],
    ['huge', 'internal'],
    ['bigint', 'internal'],
    ['overflow', 'internal'],
    ['off-contract', 'internal'],
  ])(
    'answers a handler that fails in an unforeseen way (%s) with internal, counted, and keeps serving',
    async (mode, code) => {
      const before = await unexpectedCount('nats-rpc');
      const reply = await raw(JSON.stringify({ mode }));
      expect(reply).toMatchObject({ status: 500, code });
      expect(JSON.parse(reply.body)).toEqual({ error: { code: 'internal', message: 'internal error' } });
      expect(await unexpectedCount('nats-rpc')).toBe(before + 1);
      await expect(caller.request(Echo, { mode: 'ok' })).resolves.toEqual({ mode: 'ok' });
    },
  );

  it("logs an unexpected failure once, with the caller's trace id and without the payload or the error message", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const from = logLines.length;
    const reply = await requestRaw(
      caller.nc,
      caller.subject(Echo.subject),
      new TextEncoder().encode(JSON.stringify({ mode: 'throw', data: 'bob@example.test' })),
      {
        timeoutMs,
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      },
    );
    expect(reply.code).toBe('internal');
    const lines = logLines.slice(from).map((line) => JSON.parse(line) as Record<string, unknown>);
    const failures = lines.filter((line) => line['msg'] === 'rpc handler failed unexpectedly');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ subject: Echo.subject, traceId, errorType: 'Error', level: 'error' });
    expect(logLines.slice(from).join('\n')).not.toContain('example.test');
  });

  it('keeps the code of an AppError whose details cannot be encoded, without the details', async () => {
    const reply = await raw(JSON.stringify({ mode: 'bad-details' }));
    expect(reply).toMatchObject({ status: 409, code: 'conflict' });
    expect(JSON.parse(reply.body)).toEqual({
      error: { code: 'conflict', message: 'details that cannot be encoded' },
    });
  });

  it.each([
    ['not JSON', '{"mode":'],
    ['not UTF-8', Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['a JSON string', '"mode"'],
    ['a JSON array', '[{"mode":"ok"}]'],
    ['JSON null', 'null'],
    ['empty', ''],
    ['nested 3,000 levels', `{"mode":"ok","data":${deepJsonText(3000)}}`],
    ['nested 100,000 levels', deepJsonText(100_000, 'array')],
  ])('answers a body that is %s with validation_failed (400)', async (_what, body) => {
    const reply = await raw(body);
    expect(reply).toMatchObject({ status: 400, code: 'validation_failed' });
  });

  it('answers a request whose header block nats.js cannot read with validation_failed', async () => {
    const text = await publishRawProtocol(
      ctx.natsUrl,
      caller.subject(Echo.subject),
      'NATS/1.0\r\nbad key: v\r\n\r\n',
      JSON.stringify({ mode: 'ok' }),
    );
    expect(text).toMatch(/orgmesh-error-code: validation_failed/i);
    await expect(caller.request(Echo, { mode: 'ok' })).resolves.toEqual({ mode: 'ok' });
  });

  it.each([
    ['an empty body', ''],
    ['a body', '{}'],
  ])(
    'survives a peer replying with an unreadable header block and %s: the call fails typed, the bus keeps reading',
    async (_what, payload) => {
      const peer = await rawResponder(
        ctx.natsUrl,
        caller.subject(Relay.subject),
        'NATS/1.0\r\nbad key: v\r\n\r\n',
        payload,
      );
      try {
        const error = await caller.request(Relay, {}, { timeoutMs: 2000 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(AppError);
        expect((error as AppError).code).toBe('internal');
      } finally {
        peer.stop();
      }
      // The caller's connection still reads: without the guard its read loop ended on the bad block.
      await expect(caller.request(Echo, { mode: 'ok' }, { timeoutMs: 2000 })).resolves.toEqual({
        mode: 'ok',
      });
    },
  );

  it(
    'fuzz: any bytes get a reply within the timeout, never a 5xx',
    async () => {
      const body = fc.oneof(
        fc.uint8Array({ maxLength: 512 }),
        fc.jsonValue({ maxDepth: 4 }).map((v) => new TextEncoder().encode(JSON.stringify(v))),
        fc
          .record({ mode: fc.string(), data: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: [] })
          .map((v) => new TextEncoder().encode(JSON.stringify(v))),
      );
      await fuzzEdge(
        'nats-rpc boundary (test contract)',
        body,
        async (bytes) => {
          const problem = replyProblem(await raw(bytes));
          if (problem) throw new Error(problem);
        },
        { ciRuns: 300 },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it('dead-letters poison events (unparseable, invalid, too deep, unreadable headers, failing handler) and keeps consuming', async () => {
    const subject = service.subject(Noted.subject);
    const publish = async (body: string, id: string) => {
      const hdrs = (await import('@nats-io/nats-core')).headers();
      hdrs.set('Nats-Msg-Id', id);
      await caller.js.publish(subject, new TextEncoder().encode(body), { headers: hdrs });
    };
    await publish('{not json', 'poison-json');
    await publish('{"mode":5}', 'poison-schema');
    await publish(`{"mode":"deep","data":${deepJsonText(3000)}}`, 'poison-deep');
    await publish('{"mode":"throw"}', 'poison-throw');
    await publish('{"mode":"refuse"}', 'poison-refuse');
    const ack = await publishRawProtocol(
      ctx.natsUrl,
      subject,
      'NATS/1.0\r\nbad key: v\r\n\r\n',
      '{"mode":"x"}',
    );
    expect(ack).toContain('"seq"');
    await publish('{"mode":"after"}', 'good-after');

    await expectEventually(
      async () => {
        const letters = await readDeadLetters(service);
        const reasons = letters.map((l) => l.headers[DLQ_HEADERS.reason]).sort();
        expect(reasons).toEqual(
          [
            'invalid_json',
            'max_deliver_exceeded',
            'non_retryable_error',
            'validation_failed',
            'validation_failed',
            'validation_failed',
          ].sort(),
        );
        expect(handledEvents).toContain('after');
      },
      { timeoutMs: 20_000 },
    );
    expect(await unexpectedCount('nats-event')).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it('dead-letters an event whose schema throws at once, counted, and keeps consuming', async () => {
    const before = await unexpectedCount('nats-event');
    const publish = async (mode: string, id: string) => {
      const hdrs = (await import('@nats-io/nats-core')).headers();
      hdrs.set('Nats-Msg-Id', id);
      await caller.js.publish(
        service.subject(Fragile.subject),
        new TextEncoder().encode(JSON.stringify({ mode })),
        {
          headers: hdrs,
        },
      );
    };
    await publish('explode', 'fragile-explode');
    await publish('fine', 'fragile-fine');
    await expectEventually(async () => {
      const letters = (await readDeadLetters(service)).filter(
        (l) => l.headers[DLQ_HEADERS.originalSubject] === Fragile.subject,
      );
      expect(
        letters.map((l) => [l.headers[DLQ_HEADERS.reason], l.headers[DLQ_HEADERS.deliveryCount]]),
      ).toEqual([['validation_failed', '1']]);
      expect(fragileHandled).toEqual(['fine']);
    });
    expect(await unexpectedCount('nats-event')).toBe(before + 1);
  });

  it('nothing reached the process-level handlers', () => {
    expect(recorder.faults).toEqual([]);
  });
});
