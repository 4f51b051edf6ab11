import type { Database, Sql } from '@orgmesh/persistence';
import { assertOutboxSchema } from './outbox-writer.js';

/**
 * Runs `work` at most once per (consumer, event id): the processed_events row is inserted in the
 * same transaction as the work, so a redelivered event finds it and is skipped. Returns false
 * (work not run) when the event was already processed. Concurrent duplicates serialise on the
 * primary key: the second waits for the first to commit, then skips.
 */
export async function processOnce(
  db: Pick<Database, 'transaction'>,
  schema: string,
  consumer: string,
  eventId: string,
  work: (tx: Sql) => Promise<void>,
): Promise<boolean> {
  assertOutboxSchema(schema);
  return db.transaction(async (tx) => {
    const { rows } = await tx.query(
      `INSERT INTO "${schema}".processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING event_id`,
      [consumer, eventId],
    );
    if (rows.length === 0) return false;
    await work(tx);
    return true;
  });
}
