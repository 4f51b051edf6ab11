import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexConcurrently } from '../common/retention-indexes.js';

/**
 * The re-delivery sweep (services/mesh-router/src/delivery/redelivery.ts, docs/operations.md):
 * - `tasks_submitted_created_idx`: the tasks never taken, oldest first. Partial, so it holds only
 *   the (few) tasks waiting in an inbox and the sweep reads its batch from it, never the table;
 * - `task_redeliveries`: how often each task's inbox delivery was published again and when, so a
 *   task whose agent is simply offline gets a bounded number of copies. Its rows go with their
 *   task (ON DELETE CASCADE), so retention needs no target of its own.
 * Built concurrently: `mesh.tasks` may be large.
 */
export class Redelivery1737000000000 implements MigrationInterface {
  name = 'Redelivery1737000000000';
  transaction = false;

  async up(runner: QueryRunner): Promise<void> {
    await createIndexConcurrently(
      runner,
      'mesh',
      'tasks_submitted_created_idx',
      `mesh.tasks (created_at) WHERE state = 'submitted'`,
    );
    await runner.query(`
      CREATE TABLE IF NOT EXISTS mesh.task_redeliveries (
        task_id uuid PRIMARY KEY REFERENCES mesh.tasks(id) ON DELETE CASCADE,
        attempts integer NOT NULL,
        last_at timestamptz NOT NULL
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE IF EXISTS mesh.task_redeliveries`);
    await runner.query(`DROP INDEX IF EXISTS mesh.tasks_submitted_created_idx`);
  }
}
