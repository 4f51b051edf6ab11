import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { freePort, natsServerBinary, postgresBinDir, waitForPort } from '@orgmesh/testing';

/**
 * The chaos run's own nats-server and PostgreSQL: private instances on free ports whose processes
 * this run owns, so it can restart them. Both keep their data across a restart: the JetStream store
 * directory, the Postgres data directory. The nats-server is secured as `npm start`'s and the
 * production overlay's are: it includes the generated NKey users (`authFile`, generateSecuredBus)
 * and refuses anonymous clients.
 */
export interface ChaosNats {
  readonly url: string;
  /** SIGTERM, wait for the exit, start again on the same port with the same store. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startChaosNats(dir: string, logFile: string, authFile: string): Promise<ChaosNats> {
  const binary = natsServerBinary();
  const port = await freePort();
  const storeDir = join(dir, 'nats-store');
  mkdirSync(storeDir, { recursive: true });
  // Beside the users' file: nats-server resolves an include relative to the including file.
  const configFile = join(dirname(authFile), 'chaos-nats.conf');
  writeFileSync(
    configFile,
    [
      `listen: 127.0.0.1:${port}`,
      `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
      `include ${JSON.stringify(basename(authFile))}`,
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const start = async () => {
    const out = openSync(logFile, 'a');
    child = spawn(binary, ['-c', configFile], { stdio: ['ignore', out, out] });
    await waitForPort(port, 30_000);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (running) await terminate(running, 'SIGTERM', 15_000);
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    restart: async () => {
      await stop();
      await start();
    },
    stop,
  };
}

export interface ChaosPostgres {
  /** The `postgres` database (migrations create one schema per service in it). */
  readonly url: string;
  /** `pg_ctl stop -m immediate` (no checkpoint: the next start runs crash recovery), then `pg_ctl start`. */
  crashRestart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * initdb + pg_ctl from the installed PostgreSQL packages. PostgreSQL refuses to run as root, so as
 * root the cluster belongs to `postgres` and pg_ctl runs as that user.
 */
export async function startChaosPostgres(dir: string): Promise<ChaosPostgres> {
  const bin = postgresBinDir();
  const port = await freePort();
  const base = join(dir, 'pg');
  const dataDir = join(base, 'data');
  mkdirSync(base, { recursive: true });
  let owner: { uid: number; gid: number } | Record<string, never> = {};
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chmodSync(dir, 0o755);
    chmodSync(base, 0o755);
    chownSync(base, uid, gid);
    owner = { uid, gid };
  }
  const run = (tool: string, args: string[]) =>
    execFileSync(join(bin, tool), args, { stdio: 'ignore', cwd: base, ...owner });
  run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  // Two replicas of three stateful services, each with a pool, plus this run's own reads.
  const options = `-p ${port} -k ${base} -h 127.0.0.1 -c max_connections=300`;
  const log = join(base, 'postgres.log');
  const start = async () => {
    run('pg_ctl', ['-D', dataDir, '-o', options, '-l', log, '-w', '-t', '60', 'start']);
    await waitForPort(port, 30_000);
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    crashRestart: async () => {
      run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      await start();
    },
    stop: async () => {
      try {
        run('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
      } catch {
        // not running
      }
    },
  };
}

/** Sends `signal`, then SIGKILL after `graceMs`, and resolves on exit. */
export function terminate(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}
