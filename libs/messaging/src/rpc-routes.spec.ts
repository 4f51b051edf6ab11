import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { NestFactory } from '@nestjs/core';
import { Module } from '@nestjs/common';
import { Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import { z } from 'zod';
import { AppError, type RpcDefinition } from '@orgmesh/contracts';
import { rpcController, rpcRoute } from './rpc-routes.js';
import type { MessageContext } from './types.js';

const Echo = {
  kind: 'rpc',
  context: 'test',
  subject: 'test.v1.echo',
  request: z.object({ text: z.string() }),
  response: z.object({ text: z.string(), caller: z.string().optional() }),
} satisfies RpcDefinition;

const Refuse = { ...Echo, subject: 'test.v1.refuse' } satisfies RpcDefinition;

/** Nest's own dispatch (pattern → handler, parameters, filters) without a bus: what the transport calls. */
class InProcess extends Server implements CustomTransportStrategy {
  listen(callback: () => void): void {
    callback();
  }
  close(): void {}
  on(): void {}
  unwrap<T>(): T {
    return undefined as T;
  }
  async call(subject: string, payload: unknown, ctx: MessageContext): Promise<unknown> {
    const handler = this.getHandlerByPattern(subject);
    if (!handler) throw new Error(`nothing answers ${subject}`);
    const result: unknown = await handler(payload, ctx);
    return isObservable(result) ? lastValueFrom(result) : result;
  }
}

async function serve(controller: ReturnType<typeof rpcController>) {
  @Module({ controllers: [controller] })
  class TestModule {}
  const transport = new InProcess();
  const app = await NestFactory.createMicroservice(TestModule, { strategy: transport, logger: false });
  await app.listen();
  return { transport, close: () => app.close() };
}

const ctx = (authorization: string): MessageContext => ({
  subject: Echo.subject,
  headers: {},
  authorization,
});

describe('rpcController', () => {
  it('answers each route on its subject with the payload and the message context', async () => {
    const { transport, close } = await serve(
      rpcController('EchoHandlers', [
        rpcRoute(Echo, async (request, context) => ({ text: request.text, caller: context.authorization })),
        rpcRoute(Refuse, async () => {
          throw new AppError('forbidden', 'not you');
        }),
      ]),
    );
    try {
      expect(await transport.call(Echo.subject, { text: 'hi' }, ctx('Bearer a'))).toEqual({
        text: 'hi',
        caller: 'Bearer a',
      });
      // RpcHandler's filter hands the AppError on untouched, as a decorated method's would be.
      await expect(transport.call(Refuse.subject, { text: 'hi' }, ctx('Bearer a'))).rejects.toMatchObject({
        code: 'forbidden',
      });
    } finally {
      await close();
    }
  });

  it('names the controller and refuses a subject answered twice', () => {
    expect(rpcController('EchoHandlers', []).name).toBe('EchoHandlers');
    const twice = [rpcRoute(Echo, async (r) => r), rpcRoute(Echo, async (r) => r)];
    expect(() => rpcController('EchoHandlers', twice)).toThrow('EchoHandlers answers test.v1.echo twice');
  });
});
