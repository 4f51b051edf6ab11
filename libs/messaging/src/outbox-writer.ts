import { randomUUID } from 'node:crypto';
import { AppError, parseOrThrow, type EventDefinition, type EventPayload } from '@orgmesh/contracts';
import type { Sql } from '@orgmesh/persistence';
import { injectTraceContext } from './tracing.js';

/**
 * The writing side of the transactional outbox (ARCHITECTURE §2), the one way every stateful
 * service puts events in its outbox: a service chooses its domain events (`OutboxWriter.event`,
 * validated against their contracts at once) and hands them to its repository, which writes them
 * in the same transaction as its rows, either alone (`OutboxWriter.insert`, one round trip) or as
 * part of a statement of its own (`document` + `insertSql` + `notifySql`, for writes that commit a
 * row, its history and its events in ONE statement). The relay (outbox-relay.ts) publishes what
 * committed. Tables: "<schema>".outbox and "<schema>".processed_events
 * (migrations/common/outbox-tables.ts).
 */

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Schema names are spliced into SQL: only plain identifiers pass. */
export function assertOutboxSchema(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name "${schema}"`);
}

/** The LISTEN/NOTIFY channel that wakes a schema's relay when an outbox transaction commits. */
export function outboxChannel(schema: string): string {
  assertOutboxSchema(schema);
  return `orgmesh_outbox_${schema}`;
}

/** An event a service chose, validated against its contract: one outbox row to be. */
export interface OutboxEvent {
  readonly eventId: string;
  /** The subject it is published on. */
  readonly subject: string;
  /** JSON text of the validated payload. */
  readonly payload: string;
  /** JSON text of the headers (the trace context included). */
  readonly headers: string;
}

export interface OutboxEventOptions {
  /** A UUID; default a fresh one. An event published again under the same id is dropped by the stream. */
  eventId?: string;
  /** Where it is published when not on the contract's own subject (an inbox delivery goes to its recipient's). */
  subject?: string;
  headers?: Record<string, string>;
}

/**
 * Validates an event now (a bad event fails the request that chose it, not the relay later) and
 * captures the active trace context, so the consumer joins the producer's trace.
 */
export function outboxEvent<E extends EventDefinition>(
  event: E,
  payload: EventPayload<E>,
  opts: OutboxEventOptions = {},
): OutboxEvent {
  const body = parseOrThrow(event.schema, payload, `${event.subject} payload`);
  const eventId = opts.eventId ?? randomUUID();
  if (!UUID.test(eventId))
    throw new AppError('validation_failed', 'invalid event id: expected a UUID', {
      details: { issues: [{ path: 'eventId', message: 'expected a UUID' }] },
    });
  return {
    eventId,
    subject: opts.subject ?? event.subject,
    payload: JSON.stringify(body),
    headers: JSON.stringify(injectTraceContext({ ...(opts.headers ?? {}) })),
  };
}

/** An outbox row of a statement's document: the event and the id of the row it goes with. */
export interface KeyedOutboxEvent extends OutboxEvent {
  /** The UUID of the row whose write gates this event (see `insertSql`). */
  readonly key?: string;
}

/** The outbox of one schema: where its events are written and how its relay is woken. */
export class OutboxWriter {
  /** The relay's LISTEN channel. */
  readonly channel: string;
  private readonly table: string;

  constructor(readonly schema: string) {
    this.channel = outboxChannel(schema);
    this.table = `"${schema}".outbox`;
  }

  /** A validated event (see `outboxEvent`); the service's choice, the repository's to write. */
  event<E extends EventDefinition>(
    event: E,
    payload: EventPayload<E>,
    opts?: OutboxEventOptions,
  ): OutboxEvent {
    return outboxEvent(event, payload, opts);
  }

  /**
   * Inserts events, in order, inside the caller's transaction; the relay is notified when it
   * commits (Postgres delivers the notification at commit). One round trip.
   */
  async insert(sql: Sql, events: readonly OutboxEvent[]): Promise<void> {
    if (events.length === 0) return;
    // A named (prepared) statement: one event so was 0.13 ms p50 against 0.16 ms for the former
    // unnamed single-row VALUES insert, measured interleaved in one transaction (3,000 each).
    await sql.query(
      `WITH o AS (${this.insertSql(1)}) SELECT ${this.notifySql(2, 'o')}`,
      [this.document(events), this.channel],
      { name: `orgmesh-outbox-insert-${this.schema}` },
    );
  }

  /** Wakes the relay now (a notification sent outside a write, e.g. after a fast path failed). */
  async wake(sql: Sql): Promise<void> {
    await sql.query(`SELECT pg_notify($1, '')`, [this.channel]);
  }

  /**
   * Events as ONE jsonb document (an array of {key, event_id, subject, payload, headers}, in write
   * order) for `insertSql`, not five parameter arrays. The payloads and headers are JSON already:
   * they are spliced in as they are, where a jsonb[] parameter would make node-postgres escape
   * every quote of every payload into an array literal and Postgres parse that literal before
   * parsing each element as jsonb again (array_in was about a fifth of Postgres's CPU in the mesh
   * lifecycle benchmark, all array parameters together; the batch statements' bind p50 went from
   * 0.274 to 0.243 ms).
   */
  document(events: readonly KeyedOutboxEvent[]): string {
    return `[${events
      .map(
        (e) =>
          `{"key":${e.key === undefined ? 'null' : JSON.stringify(e.key)},"event_id":"${e.eventId}","subject":${JSON.stringify(e.subject)},"payload":${e.payload},"headers":${e.headers}}`,
      )
      .join(',')}]`;
  }

  /**
   * An INSERT (for a data-modifying CTE) of the document in parameter `$param`, in document order,
   * RETURNING seq. With `gate`, the name of a CTE that returns the `id`s it wrote, only the events
   * whose key is among them: an event goes out only with the write it describes.
   */
  insertSql(param: number, gate?: string): string {
    return `INSERT INTO ${this.table} (event_id, subject, payload, headers)
          SELECT o.event_id, o.subject, o.payload, o.headers
            FROM ROWS FROM (jsonb_to_recordset($${param}::jsonb)
                   AS (key uuid, event_id uuid, subject text, payload jsonb, headers jsonb))
                 WITH ORDINALITY AS o(key, event_id, subject, payload, headers, ord)
            ${gate ? `JOIN ${gate} ON ${gate}.id = o.key` : ''}
           ORDER BY o.ord
          RETURNING seq`;
  }

  /**
   * A select-list item, `notified`, that wakes the relay (channel in parameter `$param`) once if
   * the CTE `inserted` (an `insertSql`) wrote anything, however many rows.
   */
  notifySql(param: number, inserted: string): string {
    return `(SELECT count(*) FROM (SELECT pg_notify($${param}, '') FROM ${inserted} LIMIT 1) n)::int AS notified`;
  }
}

/**
 * Adds one event to a schema's outbox inside the caller's transaction and returns its id (see
 * `OutboxWriter.insert`).
 */
export async function enqueueEvent<E extends EventDefinition>(
  tx: Sql,
  schema: string,
  event: E,
  payload: EventPayload<E>,
  opts: OutboxEventOptions = {},
): Promise<string> {
  const writer = new OutboxWriter(schema);
  const row = writer.event(event, payload, opts);
  await writer.insert(tx, [row]);
  return row.eventId;
}
