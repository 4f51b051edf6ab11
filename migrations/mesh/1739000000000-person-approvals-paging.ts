import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A person's approval inbox is paged by keyset (issue 23): `awaiting` walks the open routes by
 * `(step_deadline, task_id)`, `decided` a person's decisions by `(decided_at, task_id)` newest
 * first. Each index holds the whole ordering, so a page reads from the cursor on, never OFFSET.
 * The decisions' new index covers the former `(user_id, decided_at DESC)` one, which goes.
 */
export class PersonApprovalsPaging1739000000000 implements MigrationInterface {
  name = 'PersonApprovalsPaging1739000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(
      `CREATE INDEX IF NOT EXISTS approval_routes_open_keyset_idx
         ON mesh.approval_routes (step_deadline, task_id) WHERE status = 'open'`,
    );
    await runner.query(
      `CREATE INDEX IF NOT EXISTS approval_decisions_user_keyset_idx
         ON mesh.approval_decisions (user_id, decided_at DESC, task_id DESC)`,
    );
    await runner.query(`DROP INDEX IF EXISTS mesh.approval_decisions_user_idx`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(
      `CREATE INDEX IF NOT EXISTS approval_decisions_user_idx ON mesh.approval_decisions (user_id, decided_at DESC)`,
    );
    await runner.query(`DROP INDEX IF EXISTS mesh.approval_decisions_user_keyset_idx`);
    await runner.query(`DROP INDEX IF EXISTS mesh.approval_routes_open_keyset_idx`);
  }
}
