import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { defineRpc } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createTestContext, type TestContext } from '@orgmesh/testing';
import type { Caller } from '../src/auth/caller.js';
import { RouteExecutor } from '../src/routes/executor.js';
import { defineRoute } from '../src/routes/route.js';
import { silentLogger } from './gateway-harness.js';

/** An RPC whose handler takes as long as asked, served on the real bus. */
const Slow = defineRpc({
  subject: 'rpc.test.v1.slow',
  request: z.object({ ms: z.number().int().nonnegative() }),
  response: z.object({ waited: z.number() }),
});

const route = (largeBody: boolean) =>
  defineRoute({
    operationId: largeBody ? 'slowImport' : 'slow',
    method: 'POST',
    path: '/v1/test/slow',
    tag: 'sessions',
    summary: 'test',
    access: ['admin'],
    body: z.object({ ms: z.number() }),
    largeBody,
    status: 200,
    response: Slow.response,
    async handle({ body, call }) {
      return call(Slow, { ms: body.ms });
    },
  });

const admin = { kind: 'admin', subject: 'admin', role: 'admin', authorization: 'Bearer x' } as Caller;

/**
 * The routes with the import body limit (org import, registry load) wait GATEWAY_IMPORT_RPC_TIMEOUT
 * for each RPC: a 100k-person commit takes the registry longer than GATEWAY_RPC_TIMEOUT.
 */
describe('RouteExecutor RPC timeouts', () => {
  let ctx: TestContext;
  let server: MessageBus;
  let client: MessageBus;

  beforeAll(async () => {
    ctx = await createTestContext();
    const connect = (name: string) =>
      connectBus({
        url: ctx.natsUrl,
        name,
        subjectPrefix: ctx.subjectPrefix,
        nameSuffix: ctx.nameSuffix,
        logger: silentLogger,
      });
    [server, client] = await Promise.all([connect('slow-server'), connect('gateway-test')]);
    server.serve(Slow, async ({ ms }) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return { waited: ms };
    });
    await server.nc.flush();
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
    await ctx?.dispose();
  });

  it('times an ordinary route out after the RPC timeout, and lets a largeBody route wait its own', async () => {
    const executor = new RouteExecutor(client, 200, 5_000);
    const input = { params: {}, query: {}, body: { ms: 1_000 } };
    await expect(executor.execute(route(false), input, admin, undefined)).rejects.toMatchObject({
      code: 'timeout',
    });
    await expect(executor.execute(route(true), input, admin, undefined)).resolves.toEqual({ waited: 1_000 });
  }, 30_000);

  it('uses the RPC timeout for both when no import timeout is given', async () => {
    const executor = new RouteExecutor(client, 200);
    await expect(
      executor.execute(route(true), { params: {}, query: {}, body: { ms: 1_000 } }, admin, undefined),
    ).rejects.toMatchObject({ code: 'timeout' });
  }, 30_000);
});
