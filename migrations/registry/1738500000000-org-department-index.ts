import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * get-department-head (ADR 0019) looks a department up by name in any case and takes its topmost
 * person: an index in that order, so the lookup reads one entry at any org size.
 */
export class OrgDepartmentIndex1738500000000 implements MigrationInterface {
  name = 'OrgDepartmentIndex1738500000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(
      `CREATE INDEX IF NOT EXISTS org_users_department_depth_idx
         ON registry.org_users (lower(department), depth, user_id)`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX IF EXISTS registry.org_users_department_depth_idx`);
  }
}
