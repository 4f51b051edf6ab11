import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, waitForPort } from './ports.js';
import { natsServerBinary } from './private-nats.js';
import { stopChild } from './server-process.js';

/**
 * NATS as the production overlay runs it (deploy/k8s/platform/nats-values.yaml), on one machine:
 * three nats-server processes joined by cluster routes, each with its own JetStream store, so
 * streams can have three replicas. Clients get all three URLs and move to another node when theirs
 * dies. For the chaos run and the tests of replicated streams.
 *
 * The cluster is watched through each node's monitoring endpoint (`/jsz`), as an operator's
 * exporter watches it: no client identity is needed, so the same checks work on a secured cluster.
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
  /** The server name of the node leading the stream's replica group (its full name), if it has one. */
  streamLeader(stream: string): Promise<string | undefined>;
  /**
   * Waits until the stream (its full name) has a leader and its two followers are current and
   * online: placed on all three nodes, caught up (a stream just created, raised to 3 replicas, or
   * whose node came back takes a moment).
   */
  streamCurrent(stream: string, timeoutMs: number): Promise<void>;
  /** Every stream with its configured replica count. */
  streams(): Promise<Array<{ name: string; replicas: number }>>;
  /** Stops every node (SIGTERM, then SIGKILL after 15 s); the stores stay. */
  stop(): Promise<void>;
  /** Stops every node and removes the stores when the cluster made its own directory. */
  dispose(): Promise<void>;
}

/**
 * Starts the three nodes and resolves once JetStream can place a stream on all three (the meta
 * group has a leader and both other peers are current: before that, a 3-replica stream finds "no
 * suitable peers for placement"). `dir` holds the configurations and stores (default: a new
 * temporary directory, removed by dispose); `logDir`, when given, gets each node's log
 * (`nats-<node>.log`). `authFile`: an `authorization { … }` block every node includes — the
 * auth-only file of `orgmesh nats-config` (generateSecuredBus), as the production overlay's Helm
 * values include it — so the cluster refuses any client without a known NKey.
 */
export async function startPrivateNatsCluster(
  options: { dir?: string; logDir?: string; readyTimeoutMs?: number; authFile?: string } = {},
): Promise<PrivateNatsCluster> {
  const binary = natsServerBinary();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'orgmesh-nats-cluster-'));
  const nodes = ['n1', 'n2', 'n3'];
  const client = new Map<string, number>();
  const route = new Map<string, number>();
  const monitor = new Map<string, number>();
  for (const node of nodes) {
    client.set(node, await freePort());
    route.set(node, await freePort());
    monitor.set(node, await freePort());
  }
  // nats-server resolves an include relative to the including file: the block sits beside the configs.
  const auth = join(dir, 'nats-auth.conf');
  if (options.authFile && resolve(options.authFile) !== resolve(auth)) copyFileSync(options.authFile, auth);
  const routes = nodes.map((n) => `nats-route://127.0.0.1:${route.get(n)}`).join(', ');
  for (const node of nodes) {
    const store = join(dir, `nats-${node}`);
    mkdirSync(store, { recursive: true });
    writeFileSync(
      join(dir, `nats-${node}.conf`),
      [
        `server_name: ${node}`,
        `listen: 127.0.0.1:${client.get(node)}`,
        `http: 127.0.0.1:${monitor.get(node)}`,
        `jetstream { store_dir: "${store}" }`,
        `cluster { name: orgmesh, listen: 127.0.0.1:${route.get(node)}, routes: [${routes}] }`,
        ...(options.authFile ? ['include "nats-auth.conf"'] : []),
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
  const jsz = new Jsz(nodes, monitor);
  try {
    await Promise.all(nodes.map(start));
    await jsz.metaReady(options.readyTimeoutMs ?? 120_000);
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
    streamLeader: async (stream) => (await jsz.stream(stream))?.cluster?.leader,
    streamCurrent: (stream, timeoutMs) => jsz.streamCurrent(stream, timeoutMs),
    streams: () => jsz.streams(),
    stop,
    async dispose() {
      await stop();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What `/jsz` reports of the meta group or of a stream's replica group. */
interface JszCluster {
  readonly leader?: string;
  readonly replicas?: ReadonlyArray<{ name: string; current: boolean; offline?: boolean }>;
}
interface JszStream {
  readonly name: string;
  readonly cluster?: JszCluster;
  readonly config?: { num_replicas?: number };
}
interface JszReport {
  readonly meta_cluster?: JszCluster;
  readonly account_details?: ReadonlyArray<{ stream_detail?: readonly JszStream[] }>;
}

/** The nodes' monitoring endpoints. A node that is down (killed by a fault) is skipped. */
class Jsz {
  constructor(
    private readonly nodes: readonly string[],
    private readonly ports: ReadonlyMap<string, number>,
  ) {}

  private async report(node: string): Promise<JszReport | undefined> {
    try {
      const res = await fetch(
        `http://127.0.0.1:${this.ports.get(node)}/jsz?accounts=true&streams=true&config=true`,
        { signal: AbortSignal.timeout(5_000) },
      );
      return res.ok ? ((await res.json()) as JszReport) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The first answer of a node that is up; with `node`, that node's own view. */
  private async anyReport(node?: string): Promise<JszReport | undefined> {
    for (const candidate of node ? [node] : this.nodes) {
      const report = await this.report(candidate);
      if (report) return report;
    }
    return undefined;
  }

  private static streamsOf(report: JszReport | undefined): JszStream[] {
    return (report?.account_details ?? []).flatMap((account) => account.stream_detail ?? []);
  }

  async stream(name: string, node?: string): Promise<JszStream | undefined> {
    return Jsz.streamsOf(await this.anyReport(node)).find((s) => s.name === name);
  }

  async streams(): Promise<Array<{ name: string; replicas: number }>> {
    return Jsz.streamsOf(await this.anyReport()).map((s) => ({
      name: s.name,
      replicas: s.config?.num_replicas ?? 1,
    }));
  }

  /** Only the leader knows whether its followers are current: it is asked, not the first node up. */
  private static whole(group: JszCluster | undefined): boolean {
    const followers = group?.replicas ?? [];
    return (
      Boolean(group?.leader) && followers.length === 2 && followers.every((r) => r.current && !r.offline)
    );
  }

  async metaReady(timeoutMs: number): Promise<void> {
    await this.until(timeoutMs, 'the JetStream meta group has no leader with two current peers', async () => {
      const leader = (await this.anyReport())?.meta_cluster?.leader;
      return leader !== undefined && Jsz.whole((await this.report(leader))?.meta_cluster);
    });
  }

  async streamCurrent(name: string, timeoutMs: number): Promise<void> {
    await this.until(timeoutMs, `stream ${name}: replicas not current`, async () => {
      const leader = (await this.stream(name))?.cluster?.leader;
      return leader !== undefined && Jsz.whole((await this.stream(name, leader))?.cluster);
    });
  }

  private async until(timeoutMs: number, what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`${what} after ${timeoutMs} ms`);
      await new Promise((wake) => setTimeout(wake, 250));
    }
  }
}
