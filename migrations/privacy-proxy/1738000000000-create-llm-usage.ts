import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The privacy proxy's LLM governance (issue 24, ADR 0016).
 *
 * - `llm_usage`: token usage and cost of model calls, aggregated per hour and per agent, role,
 *   profile, session, workflow, provider and model (`''` where the call named none: primary keys hold
 *   no NULL). Written in batches off the request path; read by `rpc.privacy.v1.usage`.
 * - `llm_counters`: the budget and rate-limit counters every replica shares: per key (`agent:…`,
 *   `role:…` hourly; `rpm:…` per minute) and bucket, what was used (settled calls plus the
 *   reservations of calls in flight). Replicas add their deltas with one upsert per flush and read
 *   the rows others changed by `updated_at`.
 * - `llm_budget_warnings`: one row per budget, subject and window whose warning was sent, so that
 *   exactly one replica sends it.
 */
export class CreateLlmUsage1738000000000 implements MigrationInterface {
  name = 'CreateLlmUsage1738000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE SCHEMA IF NOT EXISTS privacy_proxy`);
    await runner.query(`
      CREATE TABLE privacy_proxy.llm_usage (
        bucket timestamptz NOT NULL,
        tenant text NOT NULL,
        agent_id text NOT NULL,
        role text NOT NULL,
        profile_id text NOT NULL,
        session_id text NOT NULL,
        workflow_id text NOT NULL,
        provider text NOT NULL,
        model text NOT NULL,
        requests bigint NOT NULL DEFAULT 0,
        input_tokens bigint NOT NULL DEFAULT 0,
        output_tokens bigint NOT NULL DEFAULT 0,
        cached_input_tokens bigint NOT NULL DEFAULT 0,
        cost_micro_usd bigint NOT NULL DEFAULT 0,
        estimated_requests bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (bucket, tenant, agent_id, role, profile_id, session_id, workflow_id, provider, model)
      )`);
    // Usage of one agent over a time range (GET /v1/usage of an agent).
    await runner.query(`CREATE INDEX llm_usage_agent_idx ON privacy_proxy.llm_usage (tenant, agent_id, bucket)`);
    await runner.query(`
      CREATE TABLE privacy_proxy.llm_counters (
        key text NOT NULL,
        bucket timestamptz NOT NULL,
        requests bigint NOT NULL DEFAULT 0,
        tokens bigint NOT NULL DEFAULT 0,
        cost_micro_usd bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (key, bucket)
      )`);
    await runner.query(`CREATE INDEX llm_counters_updated_idx ON privacy_proxy.llm_counters (updated_at)`);
    await runner.query(`CREATE INDEX llm_counters_bucket_idx ON privacy_proxy.llm_counters (bucket)`);
    await runner.query(`
      CREATE TABLE privacy_proxy.llm_budget_warnings (
        warning_id text PRIMARY KEY,
        sent_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await runner.query(`CREATE INDEX llm_budget_warnings_sent_idx ON privacy_proxy.llm_budget_warnings (sent_at)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE IF EXISTS privacy_proxy.llm_budget_warnings`);
    await runner.query(`DROP TABLE IF EXISTS privacy_proxy.llm_counters`);
    await runner.query(`DROP TABLE IF EXISTS privacy_proxy.llm_usage`);
  }
}
