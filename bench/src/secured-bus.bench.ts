import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResolvePolicy } from '@orgmesh/contracts';
import { connectBus, generateSecuredBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { freePort, natsServerBinary, waitForPort } from '@orgmesh/testing';
import { benchToken, processCpuMs, progress, runComparison, type BenchResult } from './harness.js';

/**
 * What the zero-trust bus costs (issue 18, ADR 0011): the mesh router asking the registry for a
 * policy decision over MessageBus, on two private nats-servers started side by side in this run —
 * one open, one secured by the generated config (NKey authentication, per-identity allow-lists,
 * allow_responses for the responder, per-identity inbox prefixes). Budget: ≤ 5 % request/reply
 * throughput. The scenarios alternate in rounds so machine noise falls on both alike; each
 * server's own CPU time per request (from /proc) is reported too, since on a shared, loaded machine
 * it is steadier than throughput.
 */

// 8 s per scenario in 16 rounds: at 4 s in 10 rounds one run's ratio moved by ±3 %, most of the budget.
const DURATION_MS = 8_000;
const ROUNDS = 16;
const REQUEST = { from: 'finance', to: 'manager', kind: 'approval' } as const;
const DECISION = { allowed: true, rule: 'finance.approval→manager', fromRole: 'finance', toRole: 'manager', version: 1 };

interface Server {
  url: string;
  child: ChildProcess;
  dir: string;
}

async function startServer(args: (port: number, dir: string) => string[]): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'orgmesh-bench-nats-'));
  const child = spawn(natsServerBinary(), args(port, dir), { stdio: 'ignore' });
  await waitForPort(port);
  return { url: `nats://127.0.0.1:${port}`, child, dir };
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode === null) {
    await new Promise<void>((resolve) => {
      server.child.once('exit', () => resolve());
      server.child.kill('SIGTERM');
    });
  }
  rmSync(server.dir, { recursive: true, force: true });
}

export async function run(): Promise<BenchResult[]> {
  const token = benchToken('bsec');
  const subjectPrefix = `${token}.`;
  const nameSuffix = `_${token.toUpperCase()}`;
  const logger = createLogger({ service: 'bench', level: process.env['LOG_LEVEL'] ?? 'warn' });
  const cleanups: Array<() => Promise<unknown>> = [];
  const results: BenchResult[] = [];
  try {
    const open = await startServer((port, dir) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir]);
    cleanups.push(() => stopServer(open));
    let seeds: Record<string, string> = {};
    const secured = await startServer((port, dir) => {
      const generated = generateSecuredBus({ outDir: dir, namespace: { subjectPrefix, nameSuffix }, port });
      seeds = generated.seedFiles;
      return ['-c', generated.configFile];
    });
    cleanups.push(() => stopServer(secured));

    const client = async (url: string, secure: boolean) => {
      const connectAs = async (name: string): Promise<MessageBus> => {
        const nkeySeedFile = secure ? seeds[name] : undefined;
        const bus = await connectBus({ url, name, subjectPrefix, nameSuffix, logger, ...(nkeySeedFile ? { nkeySeedFile } : {}) });
        cleanups.push(() => bus.close());
        return bus;
      };
      const server = await connectAs('registry');
      const caller = await connectAs('mesh-router');
      server.serve(ResolvePolicy, async () => DECISION);
      await server.nc.flush();
      return caller;
    };
    const openClient = await client(open.url, false);
    const securedClient = await client(secured.url, true);

    progress('  request/reply, open vs secured nats-server');
    for (const concurrency of [1, 16]) {
      const baseline = `bus.request-reply.open.c${concurrency}`;
      // Every request either server answers in this comparison (warm-up included), for CPU per request.
      const done = { open: 0, secured: 0 };
      const cpuBefore = { open: processCpuMs(open.child.pid), secured: processCpuMs(secured.child.pid) };
      const pair = await runComparison(
        [
          {
            name: baseline,
            concurrency,
            durationMs: DURATION_MS,
            op: async () => {
              await openClient.request(ResolvePolicy, REQUEST);
              done.open++;
            },
            notes: 'private nats-server, no authentication or permissions',
          },
          {
            name: `bus.request-reply.secured.c${concurrency}`,
            baseline,
            concurrency,
            durationMs: DURATION_MS,
            op: async () => {
              await securedClient.request(ResolvePolicy, REQUEST);
              done.secured++;
            },
            notes: 'private nats-server from orgmesh nats-config: NKey users, allow-lists, allow_responses',
          },
        ],
        { rounds: ROUNDS },
      );
      const perRequest = {
        open: (processCpuMs(open.child.pid) - cpuBefore.open) / done.open,
        secured: (processCpuMs(secured.child.pid) - cpuBefore.secured) / done.secured,
      };
      for (const result of pair) {
        const which = result.name.includes('.secured.') ? 'secured' : 'open';
        result.extra = {
          ...result.extra,
          natsServerCpuUsPerRequest: Math.round(perRequest[which] * 1000 * 10) / 10,
          ...(which === 'secured' ? { natsServerCpuRatio: Math.round((perRequest.secured / perRequest.open) * 100) / 100 } : {}),
        };
      }
      progress(
        `    nats-server CPU per request: open ${(perRequest.open * 1000).toFixed(1)} µs, secured ${(perRequest.secured * 1000).toFixed(1)} µs`,
      );
      results.push(...pair);
    }
    return results;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}
