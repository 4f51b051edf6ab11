import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createOutboxTables, dropOutboxTables } from '../common/outbox-tables.js';

/**
 * The registry's schema. A registry version is immutable once written: `registry_versions` keeps the
 * source files it was loaded from (the service rebuilds the model from them with the same validator)
 * and the validated model as JSON; `roles`, `agents` and `profiles` are that model as rows, one set
 * per version, for SQL readers. Published profile versions are signed (`profile_versions.jws`).
 * The org chart is replaced as a whole by each import (`org_versions` counts the imports).
 */
export class CreateRegistry1734000000000 implements MigrationInterface {
  name = 'CreateRegistry1734000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE SCHEMA IF NOT EXISTS registry`);
    await runner.query(`
      CREATE TABLE registry.registry_versions (
        version integer PRIMARY KEY CHECK (version > 0),
        source_hash text NOT NULL,
        digest text NOT NULL,
        files jsonb NOT NULL,
        model jsonb NOT NULL,
        role_count integer NOT NULL,
        agent_count integer NOT NULL,
        profile_count integer NOT NULL,
        loaded_by text NOT NULL,
        loaded_at timestamptz NOT NULL
      )`);
    await runner.query(`
      CREATE TABLE registry.roles (
        version integer NOT NULL REFERENCES registry.registry_versions(version) ON DELETE CASCADE,
        role_id text NOT NULL,
        display_name text NOT NULL,
        description text NOT NULL,
        PRIMARY KEY (version, role_id)
      )`);
    await runner.query(`
      CREATE TABLE registry.signing_keys (
        kid text PRIMARY KEY,
        public_jwk jsonb NOT NULL,
        origin text NOT NULL CHECK (origin IN ('configured', 'generated')),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      CREATE TABLE registry.profile_versions (
        profile_id text NOT NULL,
        version integer NOT NULL REFERENCES registry.registry_versions(version) ON DELETE CASCADE,
        role text NOT NULL,
        definition jsonb NOT NULL,
        jws text NOT NULL,
        kid text NOT NULL REFERENCES registry.signing_keys(kid),
        published_at timestamptz NOT NULL,
        PRIMARY KEY (profile_id, version)
      )`);
    await runner.query(`
      CREATE TABLE registry.profiles (
        version integer NOT NULL REFERENCES registry.registry_versions(version) ON DELETE CASCADE,
        profile_id text NOT NULL,
        role text NOT NULL,
        is_default boolean NOT NULL,
        definition jsonb NOT NULL,
        published_version integer NOT NULL,
        PRIMARY KEY (version, profile_id),
        FOREIGN KEY (profile_id, published_version) REFERENCES registry.profile_versions(profile_id, version)
      )`);
    await runner.query(`
      CREATE TABLE registry.agents (
        version integer NOT NULL REFERENCES registry.registry_versions(version) ON DELETE CASCADE,
        agent_id text NOT NULL,
        role text NOT NULL,
        profile_id text NOT NULL,
        definition jsonb NOT NULL,
        PRIMARY KEY (version, agent_id)
      )`);
    await runner.query(`CREATE INDEX agents_role_idx ON registry.agents (version, role)`);

    await runner.query(`
      CREATE TABLE registry.org_versions (
        org_version serial PRIMARY KEY,
        user_count integer NOT NULL,
        source_hash text NOT NULL,
        file_name text,
        imported_by text NOT NULL,
        imported_at timestamptz NOT NULL
      )`);
    await runner.query(`
      CREATE TABLE registry.org_users (
        user_id text PRIMARY KEY,
        reports_to_id text REFERENCES registry.org_users(user_id) DEFERRABLE INITIALLY DEFERRED,
        name text NOT NULL,
        role text NOT NULL,
        email text NOT NULL,
        department text NOT NULL,
        depth integer NOT NULL CHECK (depth >= 0),
        org_version integer NOT NULL REFERENCES registry.org_versions(org_version)
      )`);
    await runner.query(`CREATE UNIQUE INDEX org_users_email_uq ON registry.org_users (lower(email))`);
    await runner.query(`CREATE INDEX org_users_reports_to_idx ON registry.org_users (reports_to_id)`);
    // The head of a role (get-manager by role id): its topmost user.
    await runner.query(`CREATE INDEX org_users_role_depth_idx ON registry.org_users (role, depth, user_id)`);
    await runner.query(`
      CREATE TABLE registry.profile_assignments (
        user_id text PRIMARY KEY,
        profile_id text NOT NULL,
        role text NOT NULL,
        assigned_by text NOT NULL,
        assigned_at timestamptz NOT NULL
      )`);

    await runner.query(`
      CREATE TABLE registry.agent_presence (
        agent_id text PRIMARY KEY,
        online boolean NOT NULL DEFAULT false,
        last_heartbeat_at timestamptz,
        config_hash text,
        format text,
        drift boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(
      `CREATE INDEX agent_presence_online_idx ON registry.agent_presence (last_heartbeat_at) WHERE online`,
    );
    await createOutboxTables(runner, 'registry');
  }

  async down(runner: QueryRunner): Promise<void> {
    await dropOutboxTables(runner, 'registry');
    for (const table of [
      'agent_presence',
      'profile_assignments',
      'org_users',
      'org_versions',
      'agents',
      'profiles',
      'profile_versions',
      'signing_keys',
      'roles',
      'registry_versions',
    ]) {
      await runner.query(`DROP TABLE IF EXISTS registry.${table}`);
    }
  }
}
