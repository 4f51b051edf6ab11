import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { startPrivateNatsCluster, streamOnAllNodes } from '@orgmesh/testing';

/**
 * NATS as the production overlay runs it: three nats-server processes with cluster routes, each
 * with its own JetStream store. Clients get all three URLs and move to another node when theirs dies.
 */
export interface ChaosNatsCluster {
  /** `nats://…,nats://…,nats://…`: what every process's NATS_URL is. */
  readonly url: string;
  readonly nodes: readonly string[];
  kill9(node: string): void;
  start(node: string): Promise<void>;
  /** The server name of the node leading `stream`'s replica group. */
  leaderOf(stream: string): Promise<string | undefined>;
  /** Waits until every replica of `stream` is current (none offline or lagging). */
  replicasCurrent(stream: string, timeoutMs: number): Promise<void>;
  /** Every stream with its replica count. */
  streams(): Promise<Array<{ name: string; replicas: number }>>;
  stop(): Promise<void>;
}

export async function startChaosNatsCluster(dir: string, logDir: string): Promise<ChaosNatsCluster> {
  const cluster = await startPrivateNatsCluster({ dir, logDir });
  const logger = createLogger({ service: 'chaos-nats', level: 'error' });
  let admin: MessageBus;
  try {
    admin = await connectBus({ url: cluster.url, name: 'chaos-nats-admin', logger });
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  // The services create their streams themselves, at NATS_STREAM_REPLICAS=3 (startChaosSuite), as
  // the production overlay has them do: the table's stream row checks that every one came out at 3.
  const { url, nodes } = cluster;
  return {
    url,
    nodes,
    kill9: (node) => cluster.kill9(node),
    start: (node) => cluster.start(node),
    async leaderOf(stream) {
      const info = await admin.jsm.streams.info(admin.streamName(stream));
      return info.cluster?.leader;
    },
    replicasCurrent: (stream, timeoutMs) => streamOnAllNodes(admin, admin.streamName(stream), timeoutMs),
    async streams() {
      const out: Array<{ name: string; replicas: number }> = [];
      for await (const info of admin.jsm.streams.list()) out.push({ name: info.config.name, replicas: info.config.num_replicas });
      return out;
    },
    async stop() {
      await admin.close().catch(() => undefined);
      await cluster.stop();
    },
  };
}
