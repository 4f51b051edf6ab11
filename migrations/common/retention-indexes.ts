import type { QueryRunner } from 'typeorm';

/**
 * Creates an index without blocking writes (CREATE INDEX CONCURRENTLY: the migration must run
 * outside a transaction, `transaction = false`). A concurrent build that failed half-way leaves an
 * INVALID index behind, which `IF NOT EXISTS` would keep for ever: it is dropped and built again.
 */
export async function createIndexConcurrently(
  runner: QueryRunner,
  schema: string,
  name: string,
  definition: string,
): Promise<void> {
  const { length } = (await runner.query(
    `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND NOT i.indisvalid`,
    [schema, name],
  )) as unknown[];
  if (length > 0) await runner.query(`DROP INDEX CONCURRENTLY IF EXISTS "${schema}"."${name}"`);
  await runner.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS "${name}" ON ${definition}`);
}

/** The dedupe table's age index: the retention job deletes processed_events rows oldest first by it. */
export async function createProcessedEventsAgeIndex(runner: QueryRunner, schema: string): Promise<void> {
  await createIndexConcurrently(
    runner,
    schema,
    'processed_events_processed_at_idx',
    `"${schema}".processed_events (processed_at)`,
  );
}

export async function dropProcessedEventsAgeIndex(runner: QueryRunner, schema: string): Promise<void> {
  await runner.query(`DROP INDEX IF EXISTS "${schema}".processed_events_processed_at_idx`);
}
