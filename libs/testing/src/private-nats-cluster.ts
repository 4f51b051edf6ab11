import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { freePort, waitForPort } from './ports.js';
import { natsServerBinary } from './private-nats.js';
import { stopChild } from './server-process.js';

/**
 * NATS as the production overlay runs it (deploy/k8s/platform/nats-values.yaml), on one machine:
 * three nats-server processes joined by cluster routes, each with its own JetStream store, so
 * streams can have three replicas. Clients get all three URLs and move to another node when theirs
 * dies. For the chaos run and the tests of replicated streams.
 */
export interface PrivateNatsCluster {
  /** `nats://…,nats://…,nats://…`: a client's NATS_URL. */
  readonly url: string;
  /** The nodes' server names (`n1`, `n2`, `n3`). */
  readonly nodes: readonly string[];
  /** SIGKILL of one node; its store stays for {@link start}. */
  kill9(node: string): void;
  /** Starts a node again (after kill9) on its port and store; resolves when it listens. */
  start(node: string): Promise<void>;
  /** Stops every node (SIGTERM, then SIGKILL after 15 s); the stores stay. */
  stop(): Promise<void>;
  /** Stops every node and removes the stores when the cluster made its own directory. */
  dispose(): Promise<void>;
}

/**
 * Starts the three nodes and resolves once JetStream can place a stream on all three (the meta
 * group has a leader and every peer joined: before that, a 3-replica stream finds "no suitable
 * peers for placement"). `dir` holds the configurations and stores (default: a new temporary
 * directory, removed by dispose); `logDir`, when given, gets each node's log (`nats-<node>.log`).
 */
export async function startPrivateNatsCluster(
  options: { dir?: string; logDir?: string; readyTimeoutMs?: number } = {},
): Promise<PrivateNatsCluster> {
  const binary = natsServerBinary();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'orgmesh-nats-cluster-'));
  const nodes = ['n1', 'n2', 'n3'];
  const client = new Map<string, number>();
  const route = new Map<string, number>();
  for (const node of nodes) {
    client.set(node, await freePort());
    route.set(node, await freePort());
  }
  const routes = nodes.map((n) => `nats-route://127.0.0.1:${route.get(n)}`).join(', ');
  for (const node of nodes) {
    const store = join(dir, `nats-${node}`);
    mkdirSync(store, { recursive: true });
    writeFileSync(
      join(dir, `nats-${node}.conf`),
      [
        `server_name: ${node}`,
        `listen: 127.0.0.1:${client.get(node)}`,
        `jetstream { store_dir: "${store}" }`,
        `cluster { name: orgmesh, listen: 127.0.0.1:${route.get(node)}, routes: [${routes}] }`,
      ].join('\n'),
    );
  }
  const children = new Map<string, ChildProcess>();
  const start = async (node: string) => {
    const out = options.logDir ? openSync(join(options.logDir, `nats-${node}.log`), 'a') : 'ignore';
    children.set(
      node,
      spawn(binary, ['-c', join(dir, `nats-${node}.conf`)], { stdio: ['ignore', out, out] }),
    );
    await waitForPort(client.get(node) ?? 0, 30_000);
  };
  const stop = async () => {
    await Promise.all([...children.values()].map((child) => stopChild(child, { graceMs: 15_000 })));
  };
  const url = nodes.map((n) => `nats://127.0.0.1:${client.get(n)}`).join(',');
  try {
    await Promise.all(nodes.map(start));
    await placementReady(url, options.readyTimeoutMs ?? 120_000);
  } catch (error) {
    // Nothing else knows these processes yet: stop them here, or they outlive the caller.
    await stop();
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    nodes,
    kill9: (node) => children.get(node)?.kill('SIGKILL'),
    start,
    stop,
    async dispose() {
      await stop();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until a 3-replica stream can be created (then deletes it). */
async function placementReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const probe = `CLUSTER_READY_${process.pid}`;
  for (;;) {
    try {
      const bus = await connectBus({ url, name: 'nats-cluster-ready' });
      try {
        await bus.jsm.streams.add({
          name: probe,
          subjects: [`cluster-ready.${process.pid}`],
          num_replicas: 3,
        });
        await bus.jsm.streams.delete(probe);
        return;
      } finally {
        await bus.close();
      }
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/**
 * Waits until the stream (its full name) has a leader and its two followers are current and online:
 * placed on all three nodes, caught up (a stream just created, raised to 3 replicas, or whose node
 * came back takes a moment).
 */
export async function streamOnAllNodes(bus: MessageBus, stream: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const info = await bus.jsm.streams.info(stream).catch(() => undefined);
    const followers = info?.cluster?.replicas ?? [];
    if (info?.cluster?.leader && followers.length === 2 && followers.every((r) => r.current && !r.offline))
      return;
    if (Date.now() > until) throw new Error(`stream ${stream}: replicas not current after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
