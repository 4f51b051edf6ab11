import 'reflect-metadata';
import { DataSource, type MigrationInterface } from 'typeorm';
import { createOutboxTables, dropOutboxTables } from './common/outbox-tables.js';
import { SESSIONS_MIGRATIONS, SESSIONS_SCHEMA } from './sessions/index.js';
import { MESH_MIGRATIONS, MESH_SCHEMA } from './mesh/index.js';
import { REGISTRY_MIGRATIONS, REGISTRY_SCHEMA } from './registry/index.js';
import { PRIVACY_PROXY_MIGRATIONS, PRIVACY_PROXY_SCHEMA } from './privacy-proxy/index.js';
import type { QueryRunner } from 'typeorm';

export { createOutboxTables, dropOutboxTables };

export type MigrationClass = new () => MigrationInterface;

/** The outbox and processed-events tables, as a first migration any service schema can list. */
export function outboxMigration(schema: string, timestamp: number): MigrationClass {
  return class implements MigrationInterface {
    name = `Outbox${timestamp}`;
    async up(runner: QueryRunner): Promise<void> {
      await createOutboxTables(runner, schema);
    }
    async down(runner: QueryRunner): Promise<void> {
      await dropOutboxTables(runner, schema);
    }
  };
}

/**
 * Each service's migrations, in order, and the Postgres schema it owns (one line per service).
 * Nothing ever uses `synchronize`.
 */
export const SERVICE_MIGRATIONS: Record<string, { schema: string; migrations: MigrationClass[] }> = {
  sessions: { schema: SESSIONS_SCHEMA, migrations: SESSIONS_MIGRATIONS },
  mesh: { schema: MESH_SCHEMA, migrations: MESH_MIGRATIONS },
  registry: { schema: REGISTRY_SCHEMA, migrations: REGISTRY_MIGRATIONS },
  'privacy-proxy': { schema: PRIVACY_PROXY_SCHEMA, migrations: PRIVACY_PROXY_MIGRATIONS },
};

export const MIGRATED_SERVICES = (): string[] => Object.keys(SERVICE_MIGRATIONS);

/** Applies the pending migrations of one service, each in its own transaction; returns their names. */
export async function runMigrations(options: { url: string; service: string }): Promise<string[]> {
  const entry = SERVICE_MIGRATIONS[options.service];
  if (!entry) {
    throw new Error(`unknown service "${options.service}"; known: ${Object.keys(SERVICE_MIGRATIONS).join(', ')}`);
  }
  const dataSource = new DataSource({
    type: 'postgres',
    url: options.url,
    schema: entry.schema,
    migrations: entry.migrations,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
  });
  await dataSource.initialize();
  try {
    // Two replicas starting together must not both migrate: serialise on an advisory lock.
    await dataSource.query('SELECT pg_advisory_lock(hashtext($1))', [`orgmesh-migrate-${entry.schema}`]);
    await dataSource.query(`CREATE SCHEMA IF NOT EXISTS "${entry.schema}"`);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await dataSource.destroy();
  }
}

/** Reverts the last applied migration of a service. */
export async function revertLastMigration(options: { url: string; service: string }): Promise<void> {
  const entry = SERVICE_MIGRATIONS[options.service];
  if (!entry) throw new Error(`unknown service "${options.service}"`);
  const dataSource = new DataSource({
    type: 'postgres',
    url: options.url,
    schema: entry.schema,
    migrations: entry.migrations,
    migrationsTableName: 'migrations',
  });
  await dataSource.initialize();
  try {
    await dataSource.undoLastMigration({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
}
