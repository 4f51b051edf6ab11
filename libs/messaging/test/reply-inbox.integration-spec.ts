import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from '@nats-io/transport-node';
import { errors as natsErrors, headers, type NatsConnection } from '@nats-io/nats-core';
import { JetStreamApiError } from '@nats-io/jetstream';
import { AppError } from '@orgmesh/contracts';
import { createTestContext, expectEventually, startPrivateNats, type TestContext } from '@orgmesh/testing';
import { connectBus, ReplyInbox, type MessageBus } from '../src/index.js';
import { testLogger } from './helpers.js';

const text = (data: Uint8Array) => new TextDecoder().decode(data);
const bytes = (value: string) => new TextEncoder().encode(value);

describe('ReplyInbox', () => {
  let ctx: TestContext;
  let server: NatsConnection;
  let client: NatsConnection;
  let inbox: ReplyInbox;
  const late: Array<() => void> = [];
  // The reply subject of every request the echo responder received, in order.
  const replySubjects: string[] = [];
  const slowly = () => {
    const h = headers();
    h.set('delay', '1');
    return h;
  };
  const echo = (on: ReplyInbox, body: string, opts: { timeoutMs?: number; slow?: boolean } = {}) =>
    on
      .request(`${ctx.subjectPrefix}inbox.echo`, bytes(body), {
        timeoutMs: opts.timeoutMs ?? 5_000,
        ...(opts.slow ? { headers: slowly() } : {}),
      })
      .then((answer) => text(answer.data));
  const oneAfterAnother = async (on: ReplyInbox, count: number) => {
    for (let i = 0; i < count; i++) expect(await echo(on, `s${i}`)).toBe(`S${i}`);
  };

  beforeAll(async () => {
    ctx = await createTestContext();
    server = await connect({ servers: ctx.natsUrl });
    client = await connect({ servers: ctx.natsUrl });
    // Echoes the body back, upper-cased, after the delay (ms) the `delay` header asks for.
    server.subscribe(`${ctx.subjectPrefix}inbox.echo`, {
      callback: (_error, msg) => {
        replySubjects.push(msg.reply ?? '');
        const answer = () => msg.respond(bytes(text(msg.data).toUpperCase()));
        const delay = Number(msg.headers?.get('delay') || 0);
        if (delay > 0) late.push(() => answer());
        else answer();
      },
    });
    // Answers at once, and keeps a second answer for the test to send (a stray reply).
    server.subscribe(`${ctx.subjectPrefix}inbox.twice`, {
      callback: (_error, msg) => {
        msg.respond(bytes('first'));
        late.push(() => msg.respond(bytes('stray second answer')));
      },
    });
    await server.flush();
    inbox = new ReplyInbox(client);
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
    await ctx?.dispose();
  });

  it('gives each of many concurrent requests its own answer', async () => {
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        inbox.request(`${ctx.subjectPrefix}inbox.echo`, bytes(`m${i}`), { timeoutMs: 5_000 }),
      ),
    );
    expect(answers.map((m) => text(m.data))).toEqual(Array.from({ length: 200 }, (_, i) => `M${i}`));
    expect(inbox.size).toBe(0);
  });

  it('times out with the client TimeoutError and ignores the answer that comes too late', async () => {
    const h = headers();
    h.set('delay', '1');
    const started = Date.now();
    const error = await inbox
      .request(`${ctx.subjectPrefix}inbox.echo`, bytes('slow'), { timeoutMs: 150, headers: h })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(natsErrors.TimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(inbox.size).toBe(0);
    // The late answer arrives and is dropped; the next request still gets its own.
    late.splice(0).forEach((answer) => answer());
    await server.flush();
    const next = await inbox.request(`${ctx.subjectPrefix}inbox.echo`, bytes('next'), { timeoutMs: 5_000 });
    expect(text(next.data)).toBe('NEXT');
  });

  it('reuses a small set of reply subjects, each only after 64 other answers', async () => {
    const own = new ReplyInbox(client);
    replySubjects.length = 0;
    await oneAfterAnother(own, 300);
    // One call in flight at a time: the 64 waiting tokens and the one in use.
    expect(new Set(replySubjects).size).toBe(65);
    replySubjects.forEach((subject, i) => {
      const previous = i > 0 ? replySubjects.lastIndexOf(subject, i - 1) : -1;
      if (previous >= 0) expect(i - previous).toBeGreaterThan(64);
    });
  });

  it('never sends a call to the reply subject of one that timed out, and drops its late answer', async () => {
    const own = new ReplyInbox(client);
    replySubjects.length = 0;
    const slow = await echo(own, 'slow', { timeoutMs: 100, slow: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(slow).toBeInstanceOf(natsErrors.TimeoutError);
    const retired = replySubjects[0];
    await oneAfterAnother(own, 200);
    expect(replySubjects.indexOf(retired!, 1)).toBe(-1);
    // Both the late answer and this call's own are sent now: only its own reaches it.
    const pending = echo(own, 'mine', { slow: true });
    // Sent, and received by the responder (which holds both answers now).
    await client.flush();
    await server.flush();
    late.splice(0).forEach((answer) => answer());
    expect(await pending).toBe('MINE');
  });

  it("does not hand a stray second answer to a later call on the first one's subject", async () => {
    const own = new ReplyInbox(client);
    const first = await own.request(`${ctx.subjectPrefix}inbox.twice`, bytes('x'), { timeoutMs: 5_000 });
    expect(text(first.data)).toBe('first');
    const stray = late.splice(0);
    await oneAfterAnother(own, 10);
    const pending = echo(own, 'own answer', { slow: true });
    await client.flush();
    stray.forEach((answer) => answer());
    await server.flush();
    late.splice(0).forEach((answer) => answer());
    expect(await pending).toBe('OWN ANSWER');
  });

  it('reports no responders as the client does (a RequestError caused by NoRespondersError)', async () => {
    const error = await inbox
      .request(`${ctx.subjectPrefix}inbox.nobody`, bytes('x'), { timeoutMs: 5_000 })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(natsErrors.RequestError);
    expect((error as { isNoResponders(): boolean }).isNoResponders()).toBe(true);
    expect(String((error as Error).message)).toContain('inbox.nobody');
  });

  it('rejects what is pending when the connection closes', async () => {
    const own = await connect({ servers: ctx.natsUrl });
    const ownInbox = new ReplyInbox(own);
    const h = headers();
    h.set('delay', '1');
    const pending = ownInbox.request(`${ctx.subjectPrefix}inbox.echo`, bytes('never'), {
      timeoutMs: 10_000,
      headers: h,
    });
    await own.flush();
    await own.close();
    await expect(pending).rejects.toThrow('connection closed');
    expect(ownInbox.size).toBe(0);
    late.length = 0;
  });
});

describe('ReplyInbox across a NATS restart', () => {
  it('answers again once the connection is back (the reply subscription is renewed with it)', async () => {
    const nats = await startPrivateNats();
    const options = { servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 };
    const server = await connect(options);
    const client = await connect(options);
    try {
      server.subscribe('restart.echo', { callback: (_error, msg) => void msg.respond(msg.data) });
      await server.flush();
      const inbox = new ReplyInbox(client);
      expect(text((await inbox.request('restart.echo', bytes('before'), { timeoutMs: 2_000 })).data)).toBe(
        'before',
      );
      await nats.stop();
      await nats.start();
      // Requests sent while either side is still reconnecting may time out; one must come through.
      await expectEventually(
        async () =>
          expect(text((await inbox.request('restart.echo', bytes('after'), { timeoutMs: 500 })).data)).toBe(
            'after',
          ),
        { timeoutMs: 15_000 },
      );
    } finally {
      await client.close();
      await server.close();
      await nats.dispose();
    }
  });
});

describe('MessageBus JetStream publish acks', () => {
  let ctx: TestContext;
  let bus: MessageBus;

  beforeAll(async () => {
    ctx = await createTestContext();
    bus = await connectBus({
      url: ctx.natsUrl,
      name: 'ack-test',
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logger: testLogger('ack-test'),
    });
    await bus.ensureStream('acktest');
  });

  afterAll(async () => {
    await bus?.close();
    await ctx?.dispose();
  });

  it('returns the stream sequence, and duplicate for a second publish of one event id', async () => {
    const eventId = randomUUID();
    const first = await bus.publishRaw('acktest.v1.thing', bytes('{"a":1}'), { eventId });
    const second = await bus.publishRaw('acktest.v1.thing', bytes('{"a":1}'), { eventId });
    const other = await bus.publishRaw('acktest.v1.thing', bytes('{"a":2}'), { eventId: randomUUID() });
    expect(first.duplicate).toBe(false);
    expect(second).toEqual({ seq: first.seq, duplicate: true });
    expect(other).toEqual({ seq: first.seq + 1, duplicate: false });
  });

  it("maps the stream's refusal (an error ack) to unavailable, keeping the JetStream error as the cause", async () => {
    const error = await bus
      .publishRaw('acktest.v1.thing', bytes('{}'), {
        eventId: randomUUID(),
        headers: { 'Nats-Expected-Stream': 'NOT_THIS_ONE' },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'unavailable' });
    expect((error as AppError).cause).toBeInstanceOf(JetStreamApiError);
  });

  it('maps a subject no stream captures to unavailable', async () => {
    await expect(
      bus.publishRaw('nostream.v1.thing', bytes('{}'), { eventId: randomUUID() }),
    ).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('no JetStream stream captures'),
    });
  });
});
