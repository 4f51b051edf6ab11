import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startPrivateNatsCluster, type PrivateNatsCluster } from '@orgmesh/testing';
import { connectBus, type MessageBus } from '../src/index.js';

/**
 * NATS_STREAM_REPLICAS on a real 3-node JetStream cluster (three private nats-server processes):
 * the streams a service creates get that many replicas, a stream with fewer is raised, and a
 * process left at the default never lowers one.
 */
describe('stream replicas on a 3-node cluster', () => {
  let cluster: PrivateNatsCluster;
  const buses: MessageBus[] = [];

  const bus = async (streamReplicas?: number) => {
    const opened = await connectBus({
      url: cluster.url,
      name: `replicas-${buses.length}`,
      ...(streamReplicas ? { streamReplicas } : {}),
    });
    buses.push(opened);
    return opened;
  };
  const replicasOf = async (on: MessageBus, stream: string) => {
    const info = await on.jsm.streams.info(stream);
    return { configured: info.config.num_replicas, peers: 1 + (info.cluster?.replicas?.length ?? 0) };
  };

  /** Until the stream has a leader and two current followers (a raise takes a moment to catch up). */
  const placed = (stream: string) => cluster.streamCurrent(stream, 30_000);

  beforeAll(async () => {
    cluster = await startPrivateNatsCluster();
  }, 150_000);

  afterAll(async () => {
    for (const opened of buses) await opened.close().catch(() => undefined);
    await cluster?.dispose();
  }, 30_000);

  it('creates every kind of stream at the configured replicas, placed on three nodes', async () => {
    const service = await bus(3);
    await service.ensureStream('orders');
    await service.ensureWorkQueue('ORDERS_INBOX', ['orders-inbox.>']);
    await service.ensureDeadLetterStream();
    await service.ensureStoreStream('orders-store', ['orders-store.v1.>'], 1);
    const store = await service.jsm.streams.info(service.streamName('orders-store'));
    expect(store.config).toMatchObject({ max_msgs_per_subject: 1, max_age: 0 });
    for (const stream of [
      service.streamName('orders'),
      service.streamName('ORDERS_INBOX'),
      'DLQ',
      service.streamName('orders-store'),
    ]) {
      expect(await replicasOf(service, stream)).toEqual({ configured: 3, peers: 3 });
    }
  }, 60_000);

  it('raises a stream another process created at one replica, and a default process never lowers it', async () => {
    const agent = await bus();
    await agent.ensureStream('audit');
    await agent.ensureWorkQueue('AUDIT_INBOX', ['audit-inbox.>']);
    await agent.ensureStoreStream('audit-store', ['audit-store.v1.>'], 1);
    expect(await replicasOf(agent, agent.streamName('audit'))).toEqual({ configured: 1, peers: 1 });

    const service = await bus(3);
    await service.ensureStream('audit');
    await service.ensureWorkQueue('AUDIT_INBOX', ['audit-inbox.>']);
    await service.ensureStoreStream('audit-store', ['audit-store.v1.>'], 1);
    for (const stream of [
      service.streamName('audit'),
      service.streamName('AUDIT_INBOX'),
      service.streamName('audit-store'),
    ]) {
      expect((await replicasOf(service, stream)).configured).toBe(3);
      await placed(stream);
    }

    // A process at the default, started later (an agent, an older replica), ensures them again.
    const late = await bus();
    await late.ensureStream('audit', { maxAgeMs: 3_600_000 });
    await late.ensureWorkQueue('AUDIT_INBOX', ['audit-inbox.>']);
    const info = await late.jsm.streams.info(late.streamName('audit'));
    expect(info.config.num_replicas).toBe(3);
    // Its other settings still apply: only the replicas are kept.
    expect(info.config.max_age).toBe(3_600_000 * 1_000_000);
    expect((await replicasOf(late, late.streamName('AUDIT_INBOX'))).configured).toBe(3);
  }, 60_000);

  it('keeps the messages of a stream whose replicas were raised', async () => {
    const agent = await bus();
    await agent.ensureStream('ledger');
    for (let i = 0; i < 20; i++) await agent.js.publish(`ledger.v1.entry`, JSON.stringify({ i }));
    const service = await bus(3);
    await service.ensureStream('ledger');
    await placed(service.streamName('ledger'));
    const info = await service.jsm.streams.info(service.streamName('ledger'));
    expect(info.config.num_replicas).toBe(3);
    expect(info.state.messages).toBe(20);
  }, 60_000);
});
