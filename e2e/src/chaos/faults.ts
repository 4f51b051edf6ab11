import { MESH_INBOX_STREAM } from '@orgmesh/contracts';
import type { ChaosSuite } from './cluster.js';
import type { ChaosNats, ChaosPostgres } from './infra.js';
import type { ChaosNatsCluster } from './nats-cluster.js';

export const FREEZE_MS = 10_000;
/** How long a killed NATS node stays down before it is started again (the others carry on meanwhile). */
const NATS_NODE_DOWN_MS = 5_000;

export interface FaultEnv {
  suite: ChaosSuite;
  /** One nats-server, or the three of a cluster. */
  nats: { single: ChaosNats } | { cluster: ChaosNatsCluster };
  postgres: ChaosPostgres;
}

/**
 * A fault of the schedule, injected at `at` (a fraction of the load's span, never before the
 * previous fault recovered).
 */
export interface Fault {
  name: string;
  at: number;
  /** Injects the fault; resolves when a restart is done (a freeze resolves at once and lasts FREEZE_MS). */
  inject(env: FaultEnv): Promise<void>;
  /** The suite process that has to answer its readiness probe again, if any. */
  process?: string;
  /** Brings back what the fault took (a NATS node) and resolves once it is whole again. */
  heal?(env: FaultEnv): Promise<void>;
}

const killed = new Map<string, string>();

function cluster(env: FaultEnv): ChaosNatsCluster {
  if (!('cluster' in env.nats)) throw new Error('this fault needs the NATS cluster (--nats-cluster)');
  return env.nats.cluster;
}

/** Kills a NATS node, waits, starts it again and waits until the inbox stream's replicas are current. */
function natsNodeFault(name: string, at: number, pick: (c: ChaosNatsCluster) => Promise<string>): Fault {
  return {
    name,
    at,
    inject: async (env) => {
      const c = cluster(env);
      const node = await pick(c);
      killed.set(name, node);
      c.kill9(node);
    },
    heal: async (env) => {
      const c = cluster(env);
      const node = killed.get(name);
      await new Promise((resolve) => setTimeout(resolve, NATS_NODE_DOWN_MS));
      if (node) await c.start(node);
      await c.replicasCurrent(MESH_INBOX_STREAM, 120_000);
    },
  };
}

/** The schedule: two different mesh-router replicas and a sessions replica killed, NATS, Postgres, a freeze. */
export function faultsFor(natsCluster: boolean): Fault[] {
  const nats: Fault[] = natsCluster
    ? [
        natsNodeFault('kill -9 NATS node n3 (two of three carry on)', 0.28, async () => 'n3'),
        natsNodeFault(`kill -9 the NATS node leading ${MESH_INBOX_STREAM}`, 0.38, async (c) => {
          const leader = await c.leaderOf(MESH_INBOX_STREAM);
          if (!leader) throw new Error(`${MESH_INBOX_STREAM} has no leader`);
          return leader;
        }),
      ]
    : [
        {
          name: 'restart NATS (JetStream store kept)',
          at: 0.32,
          inject: async (env) => {
            if (!('single' in env.nats)) throw new Error('no single NATS server');
            await env.nats.single.restart();
          },
        },
      ];
  return [
    { name: 'kill -9 mesh-router-1', at: 0.08, process: 'mesh-router-1', inject: async ({ suite }) => suite.byName('mesh-router-1').kill9() },
    { name: 'kill -9 sessions-1', at: 0.18, process: 'sessions-1', inject: async ({ suite }) => suite.byName('sessions-1').kill9() },
    ...nats,
    { name: 'kill -9 mesh-router-2', at: 0.48, process: 'mesh-router-2', inject: async ({ suite }) => suite.byName('mesh-router-2').kill9() },
    { name: 'restart Postgres (pg_ctl stop -m immediate)', at: 0.6, inject: ({ postgres }) => postgres.crashRestart() },
    {
      name: `freeze mesh-router-1 ${FREEZE_MS / 1000} s (SIGSTOP/SIGCONT)`,
      at: 0.74,
      process: 'mesh-router-1',
      // Not awaited: the recovery probe runs while the replica is frozen (its NATS connection stays open).
      inject: async ({ suite }) => void suite.byName('mesh-router-1').freeze(FREEZE_MS),
    },
  ];
}
