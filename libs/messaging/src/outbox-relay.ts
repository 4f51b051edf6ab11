import pg from 'pg';
import { context } from '@opentelemetry/api';
import { AppError } from '@orgmesh/contracts';
import type { Logger } from '@orgmesh/telemetry';
import type { Registry } from 'prom-client';
import { retryDelayMs } from './backoff.js';
import type { MessageBus } from './connection.js';
import { MessagingMetrics } from './metrics.js';
import { assertOutboxSchema, outboxChannel } from './outbox-writer.js';
import { prunePublishedOutbox } from './outbox-retention.js';
import { extractTraceContext } from './tracing.js';

/**
 * The publishing side of the transactional outbox (ARCHITECTURE §2): the relay publishes the
 * events a service's transactions committed (outbox-writer.ts) to JetStream with `Nats-Msg-Id` =
 * event id and marks them only after the JetStream ack. Consumers dedupe with `processOnce`
 * (process-once.ts); published rows are pruned by outbox-retention.ts.
 */

export interface OutboxRelayOptions {
  databaseUrl: string;
  schema: string;
  bus: MessageBus;
  logger?: Logger;
  /** Rows published per transaction; default 100. */
  batchSize?: number;
  /** Fallback polling when no notification arrives (LISTEN lost, other writers); default 1000 ms. */
  pollIntervalMs?: number;
  /**
   * A timed poll leaves rows younger than this (default 500 ms) to the next poll; a pass woken by
   * a notification takes every row. A row that young was committed a moment ago: either its
   * NOTIFY is on its way, or its writer publishes it itself (the mesh router's eager publisher,
   * which marks it a few milliseconds after the JetStream ack) and a poll taking it would publish
   * it a second time. Measured before this: under the mesh benchmark's load the relays' polls
   * published again 0.23 (one router) and 0.81 (two replicas) outbox rows per task lifecycle,
   * each a JetStream publish, a duplicate repeat to the sender, and a relay transaction per pass.
   */
  pollGraceMs?: number;
  /** Published rows are deleted after this long; default 24 h. 0 keeps them. */
  publishedRetentionMs?: number;
  /**
   * Where `orgmesh_outbox_lag_seconds{schema}` (age of the oldest unpublished row, read at scrape
   * time) is registered; default: the bus's registry (BusOptions.metrics), if any.
   */
  metrics?: Registry;
  /**
   * Called with each row once JetStream acknowledged it (e.g. to repeat it on core NATS); must not
   * throw. A row published again after a crash is passed again.
   */
  onPublished?: (event: PublishedEvent) => void;
}

/** An outbox row the relay published. */
export interface PublishedEvent {
  readonly subject: string;
  readonly data: Uint8Array;
}

interface OutboxRow {
  seq: string;
  event_id: string;
  subject: string;
  payload: unknown;
  headers: Record<string, string> | null;
}

const CLEANUP_EVERY_MS = 60_000;

/** node-postgres answers a multi-statement query with one result per statement. */
function lastResult<T extends pg.QueryResultRow>(
  result: pg.QueryResult<T> | Array<pg.QueryResult<T>>,
): pg.QueryResult<T> {
  const last = Array.isArray(result) ? result[result.length - 1] : result;
  if (!last) throw new Error('empty multi-statement result');
  return last;
}

/**
 * Publishes a schema's outbox to JetStream, in `seq` order, with `Nats-Msg-Id` = event id. Rows
 * are claimed with `FOR UPDATE SKIP LOCKED`, so replicas share the work, and marked published
 * only after the JetStream ack, in the same transaction: nothing is lost when NATS, Postgres or
 * the relay dies mid-batch; a row published but not marked is published again and dropped by
 * the stream's duplicate window (and by consumers' processOnce beyond it). Failures are retried
 * with backoff, forever.
 */
export class OutboxRelay {
  private readonly schema: string;
  private readonly bus: MessageBus;
  private readonly logger: Logger;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly pollGraceMs: number;
  private readonly retentionMs: number;
  private readonly pool: pg.Pool;
  private listener: pg.Client | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wakePending = false;
  private wake: (() => void) | undefined;
  private lastCleanup = 0;
  private lagInFlight: Promise<{ pending: number; oldestAgeMs: number }> | undefined;
  private readonly ensuredContexts = new Set<string>();
  private unobserve: (() => void) | undefined;
  /** Events published since start (for metrics). */
  published = 0;

  constructor(private readonly opts: OutboxRelayOptions) {
    assertOutboxSchema(opts.schema);
    this.schema = opts.schema;
    this.bus = opts.bus;
    this.logger = opts.logger ?? opts.bus.logger;
    this.batchSize = opts.batchSize ?? 100;
    this.pollIntervalMs = opts.pollIntervalMs ?? 1_000;
    this.pollGraceMs = Math.max(0, Math.trunc(opts.pollGraceMs ?? 500));
    this.retentionMs = opts.publishedRetentionMs ?? 24 * 3600_000;
    this.pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: 2,
      connectionTimeoutMillis: 3_000,
      application_name: `outbox-relay-${opts.schema}`,
    });
    // An idle client losing its server (Postgres restart) must not crash the process.
    this.pool.on('error', (error) =>
      this.logger.warn({ err: error, schema: this.schema }, 'outbox relay idle connection lost'),
    );
  }

  /** Starts relaying in the background; returns at once (a database that is down is retried). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.connectListener().catch((error: unknown) =>
      this.logger.warn({ err: error, schema: this.schema }, 'outbox relay cannot listen yet, polling'),
    );
    this.loop = this.run();
    const metrics = this.opts.metrics ? MessagingMetrics.of(this.opts.metrics) : this.bus.metrics;
    this.unobserve = metrics?.observeOutbox(this.schema, () => this.lag());
    this.logger.info({ schema: this.schema }, 'outbox relay started');
  }

  /** Stops after the batch in flight (which is committed or rolled back, never half-marked). */
  async stop(): Promise<void> {
    if (!this.running) {
      // Never started (or stopped already): only the pool, which the constructor opened, is left.
      await this.pool.end().catch(() => undefined);
      return;
    }
    this.running = false;
    this.unobserve?.();
    this.wake?.();
    await this.loop;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
    this.logger.info({ schema: this.schema, published: this.published }, 'outbox relay stopped');
  }

  /**
   * Unpublished rows and the age of the oldest (0 when none). Both read only the unpublished
   * partial index (normally a handful of entries, never the published table): the count walks it,
   * the oldest is its first entry in seq order, the order rows are created in. Calls while one
   * read is in flight share it: a scrape collects two gauges from it at once (pending and lag seconds).
   */
  lag(): Promise<{ pending: number; oldestAgeMs: number }> {
    if (this.lagInFlight) return this.lagInFlight;
    const value = this.readLag().finally(() => {
      if (this.lagInFlight === value) this.lagInFlight = undefined;
    });
    this.lagInFlight = value;
    return value;
  }

  private async readLag(): Promise<{ pending: number; oldestAgeMs: number }> {
    const outbox = `"${this.schema}".outbox`;
    const { rows } = await this.pool.query<{ pending: number; oldest: number | null }>(
      `SELECT (SELECT count(*)::int FROM ${outbox} WHERE published_at IS NULL) AS pending,
              (SELECT (EXTRACT(EPOCH FROM (now() - created_at)) * 1000)::float8 FROM ${outbox}
                WHERE published_at IS NULL ORDER BY seq LIMIT 1) AS oldest`,
    );
    const row = rows[0];
    return { pending: row?.pending ?? 0, oldestAgeMs: Math.max(0, Math.round(row?.oldest ?? 0)) };
  }

  private async connectListener(): Promise<void> {
    const client = new pg.Client({ connectionString: this.opts.databaseUrl, connectionTimeoutMillis: 3_000 });
    const drop = () => {
      if (this.listener === client) this.listener = undefined;
      client.removeAllListeners('notification');
    };
    client.on('error', (error) => {
      this.logger.warn({ err: error, schema: this.schema }, 'outbox relay lost its LISTEN connection');
      drop();
    });
    client.on('end', drop);
    client.on('notification', () => this.wakeUp());
    try {
      await client.connect();
      await client.query(`LISTEN "${outboxChannel(this.schema)}"`);
    } catch (error) {
      drop();
      await client.end().catch(() => undefined);
      throw error;
    }
    this.listener = client;
    // Rows committed while we were not listening are picked up by the next pass.
    this.wakeUp();
  }

  private wakeUp(): void {
    this.wakePending = true;
    this.wake?.();
  }

  private async waitForWork(ms: number): Promise<void> {
    if (this.wakePending) return;
    await this.sleep(ms);
  }

  private async run(): Promise<void> {
    let failures = 0;
    // A notification (or a start, or a reconnected LISTEN) makes the passes until the outbox is
    // drained take every row; a timed poll's passes leave the youngest to their writer (pollGraceMs).
    let notified = false;
    while (this.running) {
      try {
        if (!this.listener) await this.connectListener().catch(() => undefined);
        notified ||= this.wakePending;
        this.wakePending = false;
        const moved = await this.relayBatch(notified ? 0 : this.pollGraceMs);
        if (failures > 0) this.logger.info({ schema: this.schema, failures }, 'outbox relay recovered');
        failures = 0;
        await this.cleanup();
        if (moved > 0) continue;
        notified = false;
        await this.waitForWork(this.pollIntervalMs);
      } catch (error) {
        failures++;
        const delay = retryDelayMs(failures, { baseMs: 200, maxMs: 5_000 });
        const fields = { err: error, schema: this.schema, failures, retryInMs: delay };
        if (failures === 1 || failures % 20 === 0) this.logger.warn(fields, 'outbox relay failed, retrying');
        else this.logger.debug(fields, 'outbox relay failed, retrying');
        await this.sleep(delay);
      }
    }
  }

  /** Waits `ms`, or less when woken (a notification, or stop). */
  private async sleep(ms: number): Promise<void> {
    if (!this.running) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = undefined;
  }

  /**
   * One transaction: claim a batch (rows at least `graceMs` old), publish it, mark the
   * acknowledged prefix. Returns rows marked.
   */
  private async relayBatch(graceMs: number): Promise<number> {
    const client = await this.pool.connect();
    let broken: unknown;
    // pg emits 'error' on a checked-out client when the server goes away between queries (e.g. while
    // we await JetStream acks); without a listener that would crash the process.
    const onError = (error: Error) => {
      broken ??= error;
    };
    client.on('error', onError);
    try {
      // One round trip to open the transaction and claim the batch (no parameters: the limit and
      // the grace are our own integers).
      // The relay's commits need no fsync: a mark lost in a crash only re-publishes rows, which
      // the stream's duplicate window and consumers' processOnce absorb.
      const claimed = await client.query(
        `BEGIN;
         SET LOCAL synchronous_commit = off;
         SELECT seq, event_id, subject, payload, headers FROM "${this.schema}".outbox
          WHERE published_at IS NULL${graceMs > 0 ? ` AND created_at < now() - interval '${graceMs} milliseconds'` : ''}
          ORDER BY seq LIMIT ${Math.trunc(this.batchSize)} FOR UPDATE SKIP LOCKED`,
      );
      const rows = lastResult<OutboxRow>(claimed).rows;
      if (rows.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      // Sent back to back on one connection, so they reach the stream in seq order; acks are awaited together.
      const results = await Promise.allSettled(rows.map((row) => this.publishRow(row)));
      let acked = 0;
      while (acked < results.length && results[acked]?.status === 'fulfilled') acked++;
      const seqs = rows.slice(0, acked).map((row) => String(row.seq));
      if (seqs.some((seq) => !/^\d+$/.test(seq))) throw new Error('outbox seq is not an integer');
      await client.query(
        acked > 0
          ? `UPDATE "${this.schema}".outbox SET published_at = now() WHERE seq = ANY('{${seqs.join(',')}}'::bigint[]); COMMIT`
          : 'COMMIT',
      );
      this.published += acked;
      const failed = results[acked];
      if (failed?.status === 'rejected') {
        await this.provisionStreamIfMissing(failed.reason, rows[acked]?.subject);
        throw failed.reason;
      }
      return acked;
    } catch (error) {
      broken = error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.removeListener('error', onError);
      // A connection that failed mid-transaction is discarded rather than reused.
      client.release(broken instanceof AppError ? undefined : (broken as Error | undefined));
    }
  }

  private publishRow(row: OutboxRow): Promise<unknown> {
    const headers = { ...(row.headers ?? {}) };
    const data = new TextEncoder().encode(JSON.stringify(row.payload));
    // The producer span is a child of the transaction that enqueued the event.
    const sent = context.with(extractTraceContext(headers), () =>
      this.bus.publishRaw(row.subject, data, { eventId: row.event_id, headers }),
    );
    const onPublished = this.opts.onPublished;
    return onPublished ? sent.then(() => onPublished({ subject: row.subject, data })) : sent;
  }

  /** An event whose context has no stream yet would wait forever: create the context's stream once. */
  private async provisionStreamIfMissing(error: unknown, subject: string | undefined): Promise<void> {
    if (!subject || !(error instanceof AppError) || !error.message.startsWith('no JetStream stream captures'))
      return;
    const ctx = subject.split('.')[0] ?? '';
    if (this.ensuredContexts.has(ctx)) return;
    await this.bus.ensureStreamFor(subject).then(
      () => {
        this.ensuredContexts.add(ctx);
        this.logger.warn({ schema: this.schema, context: ctx }, 'outbox relay created a missing stream');
      },
      () => undefined,
    );
  }

  private async cleanup(): Promise<void> {
    if (this.retentionMs <= 0 || Date.now() - this.lastCleanup < CLEANUP_EVERY_MS) return;
    this.lastCleanup = Date.now();
    await this.prunePublished();
  }

  /**
   * Deletes the rows published more than the retention ago (the relay runs it every minute);
   * returns how many. A row never published is kept, however old. One replica prunes a schema at
   * a time. See prunePublishedOutbox.
   */
  prunePublished(): Promise<number> {
    return prunePublishedOutbox(this.pool, this.schema, this.retentionMs, this.logger);
  }
}
