import { streamNameFor } from '@orgmesh/contracts';
import { startPrivateNatsCluster } from '@orgmesh/testing';

/**
 * NATS as the production overlay runs it: three nats-server processes with cluster routes, each
 * with its own JetStream store, and the generated NKey users on every node (anonymous clients are
 * refused). Clients get all three URLs and move to another node when theirs dies. The run watches
 * streams through the nodes' monitoring endpoints, as an operator's exporter would: it needs no
 * identity of its own on the bus.
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

export async function startChaosNatsCluster(
  dir: string,
  logDir: string,
  authFile: string,
): Promise<ChaosNatsCluster> {
  const cluster = await startPrivateNatsCluster({ dir, logDir, authFile });
  // The services create their streams themselves, at NATS_STREAM_REPLICAS=3 (startChaosSuite), as
  // the production overlay has them do: the table's stream row checks that every one came out at 3.
  // The run's namespace is the default one: a stream's name is its context's.
  return {
    url: cluster.url,
    nodes: cluster.nodes,
    kill9: (node) => cluster.kill9(node),
    start: (node) => cluster.start(node),
    leaderOf: (stream) => cluster.streamLeader(streamNameFor(stream)),
    replicasCurrent: (stream, timeoutMs) => cluster.streamCurrent(streamNameFor(stream), timeoutMs),
    streams: () => cluster.streams(),
    stop: () => cluster.stop(),
  };
}
