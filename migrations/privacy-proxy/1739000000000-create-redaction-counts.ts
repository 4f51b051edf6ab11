import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Redaction counts (issues 23 and 24): how many findings of each entity type the privacy proxy
 * masked, let through by the profile (`passed`) or refused the request for (`refused`), per hour,
 * tenant and role. Counts only: the table has no column a value, placeholder or text could go in.
 * Aggregated in memory and written in batches off the request path, like `llm_usage`; read by
 * `rpc.privacy.v1.get-redactions` (GET /v1/privacy/redactions).
 */
export class CreateRedactionCounts1739000000000 implements MigrationInterface {
  name = 'CreateRedactionCounts1739000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE SCHEMA IF NOT EXISTS privacy_proxy`);
    await runner.query(`
      CREATE TABLE privacy_proxy.redaction_counts (
        bucket timestamptz NOT NULL,
        tenant text NOT NULL,
        role text NOT NULL,
        entity_type text NOT NULL,
        action text NOT NULL CHECK (action IN ('masked', 'passed', 'refused')),
        count bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (bucket, tenant, role, entity_type, action)
      )`);
    // A tenant's (or one role's) counts over a time range; also what retention deletes by.
    await runner.query(
      `CREATE INDEX redaction_counts_tenant_idx ON privacy_proxy.redaction_counts (tenant, bucket, role)`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE IF EXISTS privacy_proxy.redaction_counts`);
  }
}
