import type { QueryRunner } from 'typeorm';

/**
 * The transactional outbox and the consumer-side dedupe table, identical in every service schema.
 * `@orgmesh/messaging` reads and writes exactly these tables.
 */
export async function createOutboxTables(runner: QueryRunner, schema: string): Promise<void> {
  await runner.query(`
    CREATE TABLE "${schema}".outbox (
      seq bigserial PRIMARY KEY,
      event_id uuid NOT NULL UNIQUE,
      subject text NOT NULL,
      payload jsonb NOT NULL,
      headers jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      published_at timestamptz
    )`);
  await runner.query(`CREATE INDEX outbox_unpublished_idx ON "${schema}".outbox (seq) WHERE published_at IS NULL`);
  await runner.query(`
    CREATE TABLE "${schema}".processed_events (
      consumer text NOT NULL,
      event_id text NOT NULL,
      processed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer, event_id)
    )`);
  // The retention job deletes dedupe records oldest first by this index (docs/operations.md). Schemas
  // created before it get it from their 1736000000000-retention-indexes migration.
  await runner.query(
    `CREATE INDEX IF NOT EXISTS processed_events_processed_at_idx ON "${schema}".processed_events (processed_at)`,
  );
}

export async function dropOutboxTables(runner: QueryRunner, schema: string): Promise<void> {
  await runner.query(`DROP TABLE IF EXISTS "${schema}".processed_events`);
  await runner.query(`DROP TABLE IF EXISTS "${schema}".outbox`);
}
