import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { defineRpc } from '@orgmesh/contracts';
import { createTestContext, type TestContext } from '@orgmesh/testing';
import { connectBus, type MessageBus } from '../src/index.js';
import { testLogger } from './helpers.js';

const Which = defineRpc({
  subject: 'rpc.weighttest.v1.which',
  request: z.object({ i: z.number().int() }),
  response: z.object({ replica: z.string() }),
});

/** MessageBus.setServeWeight on a real nats-server: two replicas of one RPC in one queue group. */
describe('serve weight', () => {
  let ctx: TestContext;
  let a: MessageBus;
  let b: MessageBus;
  let caller: MessageBus;

  beforeAll(async () => {
    ctx = await createTestContext();
    const ns = { url: ctx.natsUrl, subjectPrefix: ctx.subjectPrefix, nameSuffix: ctx.nameSuffix };
    // Same bus name: same queue group, as two replicas of one service.
    a = await connectBus({ ...ns, name: 'replicas', logger: testLogger('a') });
    b = await connectBus({ ...ns, name: 'replicas', logger: testLogger('b') });
    caller = await connectBus({ ...ns, name: 'caller', logger: testLogger('caller') });
    a.serve(Which, async () => ({ replica: 'a' }));
    b.serve(Which, async () => ({ replica: 'b' }));
    await Promise.all([a.nc.flush(), b.nc.flush()]);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), caller?.close()]);
    await ctx?.dispose();
  });

  const shareOfA = async (n: number): Promise<number> => {
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) => caller.request(Which, { i }, { timeoutMs: 5_000 })),
    );
    return answers.filter((r) => r.replica === 'a').length / n;
  };

  it('packs the requests on the replica of the higher weight, and spreads them again at weight 1', async () => {
    // Even: both at 1 (expected ½; 400 draws stay within 0.3–0.7 but for a 10⁻¹⁵ chance).
    const even = await shareOfA(400);
    expect(even).toBeGreaterThan(0.3);
    expect(even).toBeLessThan(0.7);

    a.setServeWeight(31);
    await a.nc.flush();
    // Expected 31/32 ≈ 0.97.
    expect(await shareOfA(400)).toBeGreaterThan(0.9);
    expect(a.requestsTaken).toBeGreaterThan(0);

    a.setServeWeight(1);
    await a.nc.flush();
    const spread = await shareOfA(400);
    expect(spread).toBeGreaterThan(0.3);
    expect(spread).toBeLessThan(0.7);
  });

  it('answers every request while the weight changes under load (a member given up is drained)', async () => {
    let stop = false;
    const toggling = (async () => {
      for (let round = 0; !stop; round++) {
        a.setServeWeight(round % 2 === 0 ? 40 : 1);
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
    })();
    const answers = await Promise.allSettled(
      Array.from({ length: 1500 }, (_, i) => caller.request(Which, { i }, { timeoutMs: 5_000 })),
    );
    stop = true;
    await toggling;
    a.setServeWeight(1);
    expect(answers.filter((r) => r.status === 'rejected')).toEqual([]);
  });

  it('ends the extra members with the subscription serve answered (a transport closing drains only that one)', async () => {
    const Other = defineRpc({
      subject: 'rpc.weighttest.v1.other',
      request: z.object({ i: z.number().int() }),
      response: z.object({ replica: z.string() }),
    });
    const served = a.serve(Other, async () => ({ replica: 'a' }));
    b.serve(Other, async () => ({ replica: 'b' }));
    a.setServeWeight(16);
    await Promise.all([a.nc.flush(), b.nc.flush()]);
    await served.drain();
    await a.nc.flush();
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => caller.request(Other, { i }, { timeoutMs: 5_000 })),
    );
    a.setServeWeight(1);
    expect(answers.filter((r) => r.replica === 'a')).toEqual([]);
  });

  it('refuses a weight that is not a whole number of at least 1', () => {
    expect(() => a.setServeWeight(0)).toThrow(/whole number/);
    expect(() => a.setServeWeight(1.5)).toThrow(/whole number/);
  });
});
