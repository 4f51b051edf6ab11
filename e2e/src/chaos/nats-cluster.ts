import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { MESH_EVENT_SUBJECTS, MESH_INBOX_STREAM, MESH_INBOX_SUBJECTS } from '@orgmesh/contracts';
import { createLogger } from '@orgmesh/telemetry';
import { freePort, natsServerBinary, waitForPort } from '@orgmesh/testing';
import { terminate } from './infra.js';

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
  const binary = natsServerBinary();
  const nodes = ['n1', 'n2', 'n3'];
  const client = new Map<string, number>();
  const route = new Map<string, number>();
  for (const node of nodes) {
    client.set(node, await freePort());
    route.set(node, await freePort());
  }
  const routes = nodes.map((n) => `nats-route://127.0.0.1:${route.get(n)}`).join(', ');
  const children = new Map<string, ChildProcess>();
  for (const node of nodes) {
    const store = join(dir, `nats-${node}`);
    mkdirSync(store, { recursive: true });
    writeFileSync(
      join(dir, `nats-${node}.conf`),
      [
        `server_name: ${node}`,
        `listen: 127.0.0.1:${client.get(node)}`,
        `jetstream { store_dir: "${store}" }`,
        `cluster { name: chaos, listen: 127.0.0.1:${route.get(node)}, routes: [${routes}] }`,
      ].join('\n'),
    );
  }
  const start = async (node: string) => {
    const out = openSync(join(logDir, `nats-${node}.log`), 'a');
    children.set(node, spawn(binary, ['-c', join(dir, `nats-${node}.conf`)], { stdio: ['ignore', out, out] }));
    await waitForPort(client.get(node) ?? 0, 30_000);
  };
  const url = nodes.map((n) => `nats://127.0.0.1:${client.get(n)}`).join(',');
  const stopNodes = () => Promise.all([...children.values()].map((child) => terminate(child, 'SIGTERM', 15_000)));
  try {
    await Promise.all(nodes.map(start));
    return await connectCluster(url, nodes, start, children, stopNodes);
  } catch (error) {
    // Nothing else knows these processes yet: stop them here, or they outlive the run.
    await stopNodes();
    throw error;
  }
}

async function connectCluster(
  url: string,
  nodes: string[],
  start: (node: string) => Promise<void>,
  children: Map<string, ChildProcess>,
  stopNodes: () => Promise<unknown>,
): Promise<ChaosNatsCluster> {
  const logger = createLogger({ service: 'chaos-nats', level: 'error' });
  // JetStream answers once the three have elected a meta leader (connectBus checks it).
  let admin: MessageBus | undefined;
  const deadline = Date.now() + 120_000;
  while (!admin) {
    try {
      admin = await connectBus({ url, name: 'chaos-nats-admin', logger, streamReplicas: 3 });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  // The streams the services would create at one replica, created here first at three: a service's
  // ensureStream keeps an existing stream's replica count (it updates subjects and limits only).
  // Until all three peers have joined the meta group, an R3 stream has "no suitable peers for placement".
  for (;;) {
    try {
      await admin.ensureStream('mesh', { subjects: [...MESH_EVENT_SUBJECTS] });
      await admin.ensureWorkQueue(MESH_INBOX_STREAM, [...MESH_INBOX_SUBJECTS]);
      for (const context of ['sessions', 'registry', 'privacy']) await admin.ensureStream(context);
      await admin.ensureDeadLetterStream();
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
  return {
    url,
    nodes,
    kill9: (node) => children.get(node)?.kill('SIGKILL'),
    start,
    async leaderOf(stream) {
      const info = await admin.jsm.streams.info(admin.streamName(stream));
      return info.cluster?.leader;
    },
    async replicasCurrent(stream, timeoutMs) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const info = await admin.jsm.streams.info(admin.streamName(stream)).catch(() => undefined);
        const replicas = info?.cluster?.replicas ?? [];
        if (info?.cluster?.leader && replicas.length === 2 && replicas.every((r) => r.current && !r.offline)) return;
        if (Date.now() > until) throw new Error(`stream ${stream}: replicas not current after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    },
    async streams() {
      const out: Array<{ name: string; replicas: number }> = [];
      for await (const info of admin.jsm.streams.list()) out.push({ name: info.config.name, replicas: info.config.num_replicas });
      return out;
    },
    async stop() {
      await admin.close().catch(() => undefined);
      await stopNodes();
    },
  };
}
