import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports.js';
import { restartableServer, type PrivateServer } from './server-process.js';

/**
 * A private PostgreSQL cluster; `url` names its `postgres` database. Stopped with SIGINT (fast
 * shutdown: clients are disconnected, what a crash-free restart looks like to them).
 */
export type PrivatePostgres = PrivateServer;

/** The port opens before recovery finishes ("the database system is starting up"): wait for a real query. */
async function waitForQueries(port: number, timeoutMs = 20_000): Promise<void> {
  const { default: pg } = await import('pg');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 2_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** Finds the directory holding initdb/postgres from the installed PostgreSQL packages. */
export function postgresBinDir(): string {
  const fromEnv = process.env['PG_BIN_DIR'];
  if (fromEnv && existsSync(join(fromEnv, 'postgres'))) return fromEnv;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const dir = join(root, version, 'bin');
      if (existsSync(join(dir, 'postgres'))) return dir;
    }
  }
  throw new Error('PostgreSQL binaries not found: install postgresql (Debian) or set PG_BIN_DIR / DATABASE_URL');
}

/**
 * Starts a private PostgreSQL cluster on a free port (trust auth) for fault tests that stop and
 * restart it. PostgreSQL refuses to run as root, so as root the cluster belongs to `postgres`.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const port = await freePort();
  const base = mkdtempSync(join(tmpdir(), 'orgmesh-pg-'));
  const dataDir = join(base, 'data');
  let owner: { uid: number; gid: number } | Record<string, never> = {};
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chmodSync(base, 0o755);
    chownSync(base, uid, gid);
    owner = { uid, gid };
  }
  execFileSync(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], {
    stdio: 'ignore',
    cwd: base,
    ...owner,
  });
  const args = ['-D', dataDir, '-p', String(port), '-k', base, '-h', '127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'];
  return restartableServer({
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    launch: () => spawn(join(bin, 'postgres'), args, { stdio: 'ignore', cwd: base, ...owner }),
    ready: async () => {
      await waitForPort(port);
      await waitForQueries(port);
    },
    // SIGINT = fast shutdown: disconnects clients, what a crash-free restart looks like to them.
    stopping: { signal: 'SIGINT', graceMs: 10_000 },
    cleanUp: () => rmSync(base, { recursive: true, force: true }),
  });
}
