import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The hourly retention deletes idempotency records older than seven days. Without an index on
 * `created_at` that read the whole table, seven days of keys, every hour; the mesh's table has had
 * this index from its first migration.
 */
export class IdempotencyCreatedIndex1735000000000 implements MigrationInterface {
  name = 'IdempotencyCreatedIndex1735000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(
      `CREATE INDEX IF NOT EXISTS idempotency_keys_created_idx ON sessions.idempotency_keys (created_at)`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX IF EXISTS sessions.idempotency_keys_created_idx`);
  }
}
