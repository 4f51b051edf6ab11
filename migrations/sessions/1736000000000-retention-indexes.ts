import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  createIndexConcurrently,
  createProcessedEventsAgeIndex,
  dropProcessedEventsAgeIndex,
} from '../common/retention-indexes.js';

/**
 * The indexes the retention job deletes by (docs/operations.md): the dedupe table by age,
 * terminal sessions by their last transition (so a batch walks them oldest first), and
 * `idempotency_keys.session_id`, which the ON DELETE CASCADE from a deleted session looks up.
 * Built concurrently: the tables may be large.
 */
export class RetentionIndexes1736000000000 implements MigrationInterface {
  name = 'RetentionIndexes1736000000000';
  transaction = false;

  async up(runner: QueryRunner): Promise<void> {
    await createIndexConcurrently(
      runner,
      'sessions',
      'sessions_terminal_last_transition_idx',
      `sessions.sessions (last_transition_at) WHERE status IN ('completed','failed','expired')`,
    );
    await createIndexConcurrently(
      runner,
      'sessions',
      'idempotency_keys_session_idx',
      `sessions.idempotency_keys (session_id)`,
    );
    await createProcessedEventsAgeIndex(runner, 'sessions');
  }

  async down(runner: QueryRunner): Promise<void> {
    await dropProcessedEventsAgeIndex(runner, 'sessions');
    await runner.query(`DROP INDEX IF EXISTS sessions.idempotency_keys_session_idx`);
    await runner.query(`DROP INDEX IF EXISTS sessions.sessions_terminal_last_transition_idx`);
  }
}
