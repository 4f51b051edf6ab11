import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, Payload } from '@nestjs/microservices';
import { z } from 'zod';
import {
  AppError,
  defineEvent,
  defineRpc,
  type EventPayload,
  type RpcRequest,
  type RpcResponse,
} from '@orgmesh/contracts';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
import {
  connectBus,
  EventHandler,
  NatsTransportServer,
  RpcHandler,
  type EventContext,
  type MessageBus,
  type MessageContext,
} from '../src/index.js';
import { deleteStreams, testLogger } from './helpers.js';

const GetWidget = defineRpc({
  subject: 'rpc.msgtest.v1.get-widget',
  request: z.object({ id: z.string().min(1), size: z.object({ width: z.number().int().positive() }) }),
  response: z.object({
    id: z.string(),
    width: z.number(),
    caller: z.string().optional(),
    idempotencyKey: z.string().optional(),
  }),
});
const Explode = defineRpc({
  subject: 'rpc.msgtest.v1.explode',
  request: z.object({}),
  response: z.object({}),
});
const Unserved = defineRpc({
  subject: 'rpc.msgtest.v1.unserved',
  request: z.object({}),
  response: z.object({}),
});
const Hang = defineRpc({ subject: 'rpc.msgtest.v1.hang', request: z.object({}), response: z.object({}) });
const WidgetMade = defineEvent({ subject: 'msgtest.v1.widget-made', schema: z.object({ id: z.string() }) });

const handled: string[] = [];
const madeEvents: Array<{ payload: EventPayload<typeof WidgetMade>; ctx: EventContext }> = [];

@Controller()
class WidgetController {
  @RpcHandler(GetWidget)
  async get(
    @Payload() req: RpcRequest<typeof GetWidget>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof GetWidget>> {
    handled.push(req.id);
    if (req.id === 'missing')
      throw new AppError('not_found', `no widget ${req.id}`, { details: { id: req.id } });
    return {
      id: req.id,
      width: req.size.width,
      caller: ctx.authorization,
      idempotencyKey: ctx.idempotencyKey,
    };
  }

  @RpcHandler(Explode)
  async explode(): Promise<RpcResponse<typeof Explode>> {
    throw new Error('secret internals');
  }

  @EventHandler(WidgetMade)
  async made(@Payload() payload: EventPayload<typeof WidgetMade>, @Ctx() ctx: EventContext): Promise<void> {
    madeEvents.push({ payload, ctx });
  }
}

@Module({ controllers: [WidgetController] })
class WidgetModule {}

describe('RPC over the Nest transport and the bus', () => {
  let ctx: TestContext;
  let app: INestMicroservice;
  let caller: MessageBus;

  beforeAll(async () => {
    ctx = await createTestContext();
    const ns = { url: ctx.natsUrl, subjectPrefix: ctx.subjectPrefix, nameSuffix: ctx.nameSuffix };
    app = await NestFactory.createMicroservice(WidgetModule, {
      strategy: new NatsTransportServer({ ...ns, name: 'widgets', logger: testLogger('widgets') }),
      logger: false,
    });
    await app.listen();
    caller = await connectBus({ ...ns, name: 'caller', logger: testLogger('caller') });
  });

  afterAll(async () => {
    await app?.close();
    if (caller) {
      await deleteStreams(caller.jsm, ctx.nameSuffix);
      await caller.close();
    }
    await ctx?.dispose();
  });

  it('round-trips a request with the caller metadata in headers', async () => {
    const reply = await caller.request(
      GetWidget,
      { id: 'w1', size: { width: 3 } },
      { authorization: 'Bearer abc', idempotencyKey: 'k1' },
    );
    expect(reply).toEqual({ id: 'w1', width: 3, caller: 'Bearer abc', idempotencyKey: 'k1' });
  });

  it('rebuilds a typed error on the client, with status and code in headers on the wire', async () => {
    const error = await caller
      .request(GetWidget, { id: 'missing', size: { width: 1 } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      code: 'not_found',
      message: 'no widget missing',
      details: { id: 'missing' },
    });

    const raw = await caller.nc.request(
      caller.subject(GetWidget.subject),
      JSON.stringify({ id: 'missing', size: { width: 1 } }),
      { timeout: 5000 },
    );
    expect(raw.headers?.get('orgmesh-status')).toBe('404');
    expect(raw.headers?.get('orgmesh-error-code')).toBe('not_found');
    expect(raw.json()).toEqual({
      error: { code: 'not_found', message: 'no widget missing', details: { id: 'missing' } },
    });
  });

  it('speaks the plain wire format: the body is the JSON payload, no Nest envelope', async () => {
    const raw = await caller.nc.request(
      caller.subject(GetWidget.subject),
      JSON.stringify({ id: 'plain', size: { width: 7 } }),
      { timeout: 5000 },
    );
    expect(raw.headers?.get('orgmesh-status') ?? '').toBe('');
    expect(raw.json()).toEqual({ id: 'plain', width: 7 });
  });

  it('answers a malformed body with a validation error naming every field path, without calling the handler', async () => {
    const before = handled.length;
    const raw = await caller.nc.request(
      caller.subject(GetWidget.subject),
      JSON.stringify({ id: 5, size: { width: 'wide' } }),
      { timeout: 5000 },
    );
    expect(raw.headers?.get('orgmesh-status')).toBe('400');
    const body = raw.json<{
      error: { code: string; message: string; details: { issues: Array<{ path: string }> } };
    }>();
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.message).toContain('id:');
    expect(body.error.message).toContain('size.width:');
    expect(body.error.details.issues.map((i) => i.path).sort()).toEqual(['id', 'size.width']);

    const notJson = await caller.nc.request(caller.subject(GetWidget.subject), '{not json', {
      timeout: 5000,
    });
    expect(notJson.headers?.get('orgmesh-error-code')).toBe('validation_failed');
    expect(handled.length).toBe(before);
  });

  it('validates on the client before sending', async () => {
    const before = handled.length;
    const error = await caller.request(GetWidget, { id: '', size: { width: -1 } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'validation_failed' });
    expect((error as AppError).message).toContain('size.width');
    expect(handled.length).toBe(before);
  });

  it('hides unexpected errors behind internal', async () => {
    const error = await caller.request(Explode, {}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'internal', message: 'internal error' });
  });

  it('maps no responders to unavailable and silence to timeout', async () => {
    await expect(caller.request(Unserved, {})).rejects.toMatchObject({ code: 'unavailable' });
    let release: () => void = () => undefined;
    const sub = caller.serve(Hang, () => new Promise((resolve) => (release = () => resolve({}))));
    await expect(caller.request(Hang, {}, { timeoutMs: 200 })).rejects.toMatchObject({ code: 'timeout' });
    release();
    sub.unsubscribe();
  });

  it('delivers events to @EventHandler through a durable named <service>--<context>-v1-<event>', async () => {
    await caller.publish(WidgetMade, { id: 'w9' }, { eventId: '5b0f4a52-6f0e-4d5c-9a8e-2d1f2c3b4a59' });
    await expectEventually(() => expect(madeEvents.map((e) => e.payload.id)).toEqual(['w9']));
    expect(madeEvents[0]?.ctx).toMatchObject({
      eventId: '5b0f4a52-6f0e-4d5c-9a8e-2d1f2c3b4a59',
      deliveryCount: 1,
      subject: WidgetMade.subject,
    });
    const info = await caller.jsm.consumers.info(
      caller.streamName('msgtest'),
      `widgets--msgtest-v1-widget-made${ctx.nameSuffix}`,
    );
    expect(info.config.filter_subject).toBe(caller.subject(WidgetMade.subject));
  });

  it('stops answering once the microservice is closed', async () => {
    await app.close();
    await expect(
      caller.request(GetWidget, { id: 'late', size: { width: 1 } }, { timeoutMs: 1000 }),
    ).rejects.toMatchObject({ code: 'unavailable' });
  });
});
