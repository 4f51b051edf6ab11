import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Approvals decided by people of the org chart (issue 23, ADR 0019):
 * - `approval_routes`: one per approval the profile rules (or the request) route to people: the
 *   rule that applied, the planned steps (who, quorum, time per step), the step now waiting and
 *   its deadline. The deadline lives here, in Postgres, so a deadline that passes while every
 *   router is down is escalated by the first one that starts (the sweep reads `step_deadline`).
 * - `approval_decisions`: every person's decision, who, on whose behalf, when, the comment and
 *   the rule; unique per task and person, so deciding twice is refused by the key, not a race.
 * - `approval_delegations`: a person hands their approvals to another person for a period.
 * Rows of a route and its decisions go with their task (ON DELETE CASCADE): task retention covers them.
 */
export class ApprovalsToPeople1738000000000 implements MigrationInterface {
  name = 'ApprovalsToPeople1738000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE IF NOT EXISTS mesh.approval_routes (
        task_id uuid PRIMARY KEY REFERENCES mesh.tasks(id) ON DELETE CASCADE,
        rule text NOT NULL,
        steps jsonb NOT NULL,
        step integer NOT NULL,
        step_deadline timestamptz NOT NULL,
        status text NOT NULL,
        outcome jsonb,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      )`);
    await runner.query(
      `CREATE INDEX IF NOT EXISTS approval_routes_open_deadline_idx
         ON mesh.approval_routes (step_deadline) WHERE status IN ('open', 'decided')`,
    );
    await runner.query(`
      CREATE TABLE IF NOT EXISTS mesh.approval_decisions (
        task_id uuid NOT NULL REFERENCES mesh.tasks(id) ON DELETE CASCADE,
        user_id text NOT NULL,
        on_behalf_of text,
        step integer NOT NULL,
        decision text NOT NULL,
        comment text,
        rule text NOT NULL,
        decided_at timestamptz NOT NULL,
        PRIMARY KEY (task_id, user_id)
      )`);
    await runner.query(
      `CREATE INDEX IF NOT EXISTS approval_decisions_user_idx ON mesh.approval_decisions (user_id, decided_at DESC)`,
    );
    await runner.query(`
      CREATE TABLE IF NOT EXISTS mesh.approval_delegations (
        id uuid PRIMARY KEY,
        from_user text NOT NULL,
        to_user text NOT NULL,
        starts_at timestamptz NOT NULL,
        ends_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL
      )`);
    await runner.query(
      `CREATE INDEX IF NOT EXISTS approval_delegations_to_idx ON mesh.approval_delegations (to_user, ends_at)`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE IF EXISTS mesh.approval_delegations`);
    await runner.query(`DROP TABLE IF EXISTS mesh.approval_decisions`);
    await runner.query(`DROP TABLE IF EXISTS mesh.approval_routes`);
  }
}
