import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createOutboxTables, dropOutboxTables } from '../common/outbox-tables.js';

export class CreateMesh1733000000000 implements MigrationInterface {
  name = 'CreateMesh1733000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE SCHEMA IF NOT EXISTS mesh`);
    await runner.query(`
      CREATE TABLE mesh.tasks (
        id uuid PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('task','approval','notification')),
        from_agent_id text NOT NULL,
        from_role text NOT NULL,
        to_role text NOT NULL,
        to_agent_id text,
        assignee_agent_id text,
        assignee_role text,
        type text,
        subject text,
        input jsonb,
        details jsonb,
        message text,
        priority text NOT NULL CHECK (priority IN ('low','normal','high','urgent')),
        state text NOT NULL CHECK (state IN ('submitted','working','input-required','completed','failed','canceled','rejected')),
        reason text,
        context_id text NOT NULL,
        deadline timestamptz NOT NULL,
        escalate_at timestamptz,
        result jsonb,
        decision jsonb,
        escalated_to jsonb,
        escalated_at timestamptz,
        version integer NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      )`);
    // The deadline job scans only open tasks, by deadline and by escalation time.
    await runner.query(`
      CREATE INDEX tasks_open_deadline_idx ON mesh.tasks (deadline)
      WHERE state IN ('submitted','working','input-required')`);
    await runner.query(`
      CREATE INDEX tasks_open_escalation_idx ON mesh.tasks (escalate_at)
      WHERE state IN ('submitted','working','input-required') AND escalated_at IS NULL AND escalate_at IS NOT NULL`);
    await runner.query(`CREATE INDEX tasks_created_idx ON mesh.tasks (created_at DESC, id DESC)`);
    await runner.query(`CREATE INDEX tasks_to_role_idx ON mesh.tasks (to_role, created_at DESC)`);
    await runner.query(`CREATE INDEX tasks_from_agent_idx ON mesh.tasks (from_agent_id, created_at DESC)`);
    await runner.query(`CREATE INDEX tasks_assignee_idx ON mesh.tasks (assignee_agent_id, created_at DESC)`);
    await runner.query(`CREATE INDEX tasks_context_idx ON mesh.tasks (context_id)`);
    await runner.query(`
      CREATE TABLE mesh.task_events (
        seq bigserial PRIMARY KEY,
        task_id uuid NOT NULL REFERENCES mesh.tasks(id) ON DELETE CASCADE,
        event text NOT NULL,
        from_state text,
        to_state text NOT NULL,
        actor text NOT NULL,
        reason text,
        details jsonb,
        trace_id text,
        occurred_at timestamptz NOT NULL
      )`);
    await runner.query(`CREATE INDEX task_events_task_idx ON mesh.task_events (task_id, seq)`);
    // Keys are scoped per caller (token subject) and operation; the fingerprint detects a reused key with another body.
    await runner.query(`
      CREATE TABLE mesh.idempotency_keys (
        operation text NOT NULL,
        actor text NOT NULL,
        key text NOT NULL,
        fingerprint text NOT NULL,
        task_id uuid REFERENCES mesh.tasks(id) ON DELETE CASCADE,
        response jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (operation, actor, key)
      )`);
    await runner.query(`CREATE INDEX idempotency_keys_created_idx ON mesh.idempotency_keys (created_at)`);
    await createOutboxTables(runner, 'mesh');
  }

  async down(runner: QueryRunner): Promise<void> {
    await dropOutboxTables(runner, 'mesh');
    await runner.query(`DROP TABLE IF EXISTS mesh.idempotency_keys`);
    await runner.query(`DROP TABLE IF EXISTS mesh.task_events`);
    await runner.query(`DROP TABLE IF EXISTS mesh.tasks`);
  }
}
