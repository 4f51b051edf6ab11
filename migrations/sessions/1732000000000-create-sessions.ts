import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createOutboxTables, dropOutboxTables } from '../common/outbox-tables.js';

export class CreateSessions1732000000000 implements MigrationInterface {
  name = 'CreateSessions1732000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE SCHEMA IF NOT EXISTS sessions`);
    await runner.query(`
      CREATE TABLE sessions.sessions (
        id uuid PRIMARY KEY,
        agent_id text NOT NULL,
        role text NOT NULL,
        context_id text NOT NULL,
        status text NOT NULL CHECK (status IN ('pending','active','paused','completed','failed','expired')),
        version integer NOT NULL DEFAULT 0,
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        last_transition_at timestamptz NOT NULL,
        paused_at timestamptz,
        completed_at timestamptz,
        failed_at timestamptz,
        expired_at timestamptz
      )`);
    // One open session per agent and context: the mesh finds "the agent's session in that context".
    await runner.query(`
      CREATE UNIQUE INDEX sessions_open_agent_context_uq ON sessions.sessions (agent_id, context_id)
      WHERE status IN ('pending','active','paused')`);
    await runner.query(`CREATE INDEX sessions_created_idx ON sessions.sessions (created_at DESC, id DESC)`);
    await runner.query(`CREATE INDEX sessions_status_last_transition_idx ON sessions.sessions (status, last_transition_at)`);
    await runner.query(`CREATE INDEX sessions_role_idx ON sessions.sessions (role, created_at DESC)`);
    await runner.query(`CREATE INDEX sessions_agent_idx ON sessions.sessions (agent_id, created_at DESC)`);
    await runner.query(`CREATE INDEX sessions_context_idx ON sessions.sessions (context_id)`);
    await runner.query(`
      CREATE TABLE sessions.session_transitions (
        seq bigserial PRIMARY KEY,
        session_id uuid NOT NULL REFERENCES sessions.sessions(id) ON DELETE CASCADE,
        from_state text NOT NULL,
        to_state text NOT NULL,
        event text NOT NULL,
        actor text NOT NULL,
        reason text,
        causation_id text,
        trace_id text,
        occurred_at timestamptz NOT NULL
      )`);
    await runner.query(`CREATE INDEX session_transitions_session_idx ON sessions.session_transitions (session_id, seq)`);
    await runner.query(`
      CREATE TABLE sessions.idempotency_keys (
        operation text NOT NULL,
        key text NOT NULL,
        session_id uuid REFERENCES sessions.sessions(id) ON DELETE CASCADE,
        response jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (operation, key)
      )`);
    await createOutboxTables(runner, 'sessions');
  }

  async down(runner: QueryRunner): Promise<void> {
    await dropOutboxTables(runner, 'sessions');
    await runner.query(`DROP TABLE IF EXISTS sessions.idempotency_keys`);
    await runner.query(`DROP TABLE IF EXISTS sessions.session_transitions`);
    await runner.query(`DROP TABLE IF EXISTS sessions.sessions`);
  }
}
