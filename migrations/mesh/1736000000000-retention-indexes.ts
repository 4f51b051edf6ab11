import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  createIndexConcurrently,
  createProcessedEventsAgeIndex,
  dropProcessedEventsAgeIndex,
} from '../common/retention-indexes.js';

/**
 * The indexes the retention job deletes by (docs/operations.md): terminal tasks by the time they
 * ended (`updated_at`; a terminal task is never updated again), the dedupe table by age, and
 * `idempotency_keys.task_id`, which the ON DELETE CASCADE from a deleted task looks up (without it
 * every deleted task read the whole key table). Built concurrently: the tables may be large.
 */
export class RetentionIndexes1736000000000 implements MigrationInterface {
  name = 'RetentionIndexes1736000000000';
  transaction = false;

  async up(runner: QueryRunner): Promise<void> {
    await createIndexConcurrently(
      runner,
      'mesh',
      'tasks_terminal_updated_idx',
      `mesh.tasks (updated_at) WHERE state IN ('completed','failed','canceled','rejected')`,
    );
    await createIndexConcurrently(runner, 'mesh', 'idempotency_keys_task_idx', `mesh.idempotency_keys (task_id)`);
    await createProcessedEventsAgeIndex(runner, 'mesh');
  }

  async down(runner: QueryRunner): Promise<void> {
    await dropProcessedEventsAgeIndex(runner, 'mesh');
    await runner.query(`DROP INDEX IF EXISTS mesh.idempotency_keys_task_idx`);
    await runner.query(`DROP INDEX IF EXISTS mesh.tasks_terminal_updated_idx`);
  }
}
