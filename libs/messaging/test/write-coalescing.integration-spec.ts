import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
import { coalesceWrites } from '../src/index.js';

/** Counts the socket writes of a connection (the transport's `send`). */
function countWrites(nc: NatsConnection): { count: number } {
  const counter = { count: 0 };
  const transport = (nc as unknown as { protocol: { transport: { send(frame: Uint8Array): void } } }).protocol
    .transport;
  const send = transport.send.bind(transport);
  transport.send = (frame: Uint8Array) => {
    counter.count++;
    send(frame);
  };
  return counter;
}

/** 20 publishes in one loop turn, each a different number of promise hops after the first (as replies to one group commit are). */
async function staggeredBurst(nc: NatsConnection, subject: string): Promise<void> {
  await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      for (let hop = 0; hop < i; hop++) await Promise.resolve();
      nc.publish(subject, `m${i}`);
    }),
  );
}

describe('coalesceWrites', () => {
  let ctx: TestContext;
  let receiver: NatsConnection;
  const received: string[] = [];

  beforeAll(async () => {
    ctx = await createTestContext();
    receiver = await connect({ servers: ctx.natsUrl });
    receiver.subscribe(`${ctx.subjectPrefix}coalesce.>`, {
      callback: (_e, msg) => {
        received.push(msg.string());
      },
    });
    await receiver.flush();
  });

  afterAll(async () => {
    await receiver?.close();
    await ctx?.dispose();
  });

  it('sends a burst spread over many promise hops in one write, and every message arrives in order', async () => {
    const nc = await connect({ servers: ctx.natsUrl });
    try {
      expect(coalesceWrites(nc)).toBe(true);
      await nc.flush();
      const writes = countWrites(nc);
      received.length = 0;
      await staggeredBurst(nc, `${ctx.subjectPrefix}coalesce.patched`);
      await nc.flush();
      // The burst, then the PING of flush().
      expect(writes.count).toBeLessThanOrEqual(2);
      await expectEventually(() => expect(received).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`)));
    } finally {
      await nc.close();
    }
  });

  it('is what makes the difference: an unpatched client writes the same burst many times', async () => {
    const nc = await connect({ servers: ctx.natsUrl });
    try {
      await nc.flush();
      const writes = countWrites(nc);
      received.length = 0;
      await staggeredBurst(nc, `${ctx.subjectPrefix}coalesce.plain`);
      await nc.flush();
      expect(writes.count).toBeGreaterThan(5);
      await expectEventually(() => expect(received).toHaveLength(20));
    } finally {
      await nc.close();
    }
  });

  it('refuses (changes nothing) when the client internals are not what it expects', () => {
    expect(coalesceWrites({} as NatsConnection)).toBe(false);
    expect(coalesceWrites({ protocol: { sendCommand: () => undefined } } as unknown as NatsConnection)).toBe(
      false,
    );
  });
});
