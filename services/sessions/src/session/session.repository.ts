import { trace } from '@opentelemetry/api';
import type { Session, SessionEventName, SessionState } from '@orgmesh/contracts';
import { OutboxWriter, type OutboxEvent } from '@orgmesh/messaging';
import { pgErrorCode, RowCache, WriteBatcher, type Database, type Sql } from '@orgmesh/persistence';
import type { SessionRow, SessionTransitionRow } from './session.entity.js';
import { toSession, toTransition } from './session.mapper.js';
import { sessionNotFound } from './session.errors.js';
import type { SessionTimestamps } from './session.fsm.js';
import { PerKeyQueue } from './per-key-queue.js';

export const SESSIONS_SCHEMA = 'sessions';
/** Where the events the service chose are written, in the same statement as the rows they describe. */
const outbox = new OutboxWriter(SESSIONS_SCHEMA);
const OPEN_STATES: SessionState[] = ['pending', 'active', 'paused'];

/** What the domain decided for one event on the locked row: for a move, the event it emits too. */
export type Decision =
  | { kind: 'noop' }
  | { kind: 'move'; to: SessionState; timestamps: SessionTimestamps; now: Date; event: OutboxEvent };

export interface TransitionMeta {
  event: SessionEventName;
  actor: string;
  reason: string | null;
  causationId: string | null;
  idempotencyKey?: string;
}

/** A session the service opens, and the event it chose to announce it. */
export interface NewSession {
  session: Session;
  event: OutboxEvent;
  idempotencyKey?: string;
}

export interface ListFilter {
  status?: SessionState;
  role?: string;
  agentId?: string;
  contextId?: string;
  limit: number;
  cursor?: { createdAt: string; id: string };
}

export interface SessionRepositoryOptions {
  /** Most transitions written (or rows read) by one statement of the fast path; default 64. */
  batchMax?: number;
  /** Statements of the fast path in flight at once, for writes and for reads each; default 2. */
  batchInFlight?: number;
  /** Session rows remembered for the fast path (0: every event reads its row); default 10 000. */
  rowCacheSize?: number;
}

type Move = Extract<Decision, { kind: 'move' }>;

/** One decided transition waiting for its batch: written only if the row still has `row.version`. */
interface PendingTransition {
  row: SessionRow;
  meta: TransitionMeta;
  decision: Move;
  traceId: string | null;
}

const RETRYABLE_TX_CODES = new Set(['40001', '40P01']);
const MAX_TX_ATTEMPTS = 5;
/** Optimistic attempts on a fresh read before falling back to the row lock (hot sessions under heavy contention). */
const OPTIMISTIC_ATTEMPTS = 3;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * All SQL of the sessions service. Each write commits its row, its history and its outbox event together.
 *
 * The apply-event fast path is shaped by what a transition costs on a small machine: not SQL but
 * round trips (every socket write, wake-up and WAL flush). So events are decided on the row this
 * replica last wrote (a cache; a stale row only makes the version guard miss), and the transitions
 * decided while earlier ones are being written go to Postgres together, as ONE guarded statement
 * (group commit, WriteBatcher): under load N events cost one round trip and one flush. Rows the
 * cache lacks are read in batches the same way.
 */
export class SessionRepository {
  private readonly cache: RowCache<SessionRow>;
  private readonly perSession = new PerKeyQueue();
  private readonly writes: WriteBatcher<PendingTransition, SessionRow | undefined>;
  private readonly reads: WriteBatcher<string, SessionRow | undefined>;

  constructor(
    private readonly db: Database,
    options: SessionRepositoryOptions = {},
  ) {
    const batching = { maxBatch: options.batchMax ?? 64, maxInFlight: options.batchInFlight ?? 2 };
    this.cache = new RowCache<SessionRow>(options.rowCacheSize ?? 10_000);
    this.writes = new WriteBatcher((items) => this.writeBatch(items), {
      ...batching,
      keyOf: (item) => item.row.id,
    });
    this.reads = new WriteBatcher((ids) => this.readBatch(ids), batching);
  }

  /**
   * Stores a new pending session with its created event (both chosen by the service), or finds
   * the agent's open session in that context (then neither is written).
   */
  async create(input: NewSession): Promise<{ session: Session; created: boolean }> {
    const key = input.idempotencyKey;
    // Without a key, one statement (an implicit transaction): the row, its outbox event, the relay's wake-up.
    if (!key) return this.insertOrFindOpen(this.db, input);
    return this.db.transaction(async (tx) => {
      // Same-key creates queue here, so the second sees the first's record.
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('sessions-create:' || $1))`, [key]);
      const seen = await tx.query<{ response: Session }>(
        `SELECT response FROM sessions.idempotency_keys WHERE operation = 'create' AND key = $1`,
        [key],
      );
      if (seen.rows[0]) return { session: seen.rows[0].response, created: false };
      const result = await this.insertOrFindOpen(tx, input, false);
      await tx.query(
        `INSERT INTO sessions.idempotency_keys (operation, key, session_id, response) VALUES ('create', $1, $2, $3)`,
        [key, result.session.id, JSON.stringify(result.session)],
      );
      return result;
    });
  }

  /**
   * Inserts a pending session with its created event, or finds the agent's open session in that
   * context. `remember`: cache the row (only where the statement commits by itself; a row of an
   * open transaction could still roll back).
   */
  private async insertOrFindOpen(
    sql: Sql,
    input: NewSession,
    remember = true,
  ): Promise<{ session: Session; created: boolean }> {
    const candidate = input.session;
    const inserted = await sql.query<SessionRow & { notified: unknown }>(
      `WITH inserted AS (
         INSERT INTO sessions.sessions (id, agent_id, role, context_id, status, version, metadata, created_at, updated_at, last_transition_at)
         VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $6, $6)
         ON CONFLICT (agent_id, context_id) WHERE status IN ('pending','active','paused') DO NOTHING
         RETURNING *
       ), outboxed AS (${outbox.insertSql(7, 'inserted')})
       SELECT inserted.*, ${outbox.notifySql(8, 'outboxed')} FROM inserted`,
      [
        candidate.id, candidate.agentId, candidate.role, candidate.contextId, JSON.stringify(candidate.metadata),
        candidate.createdAt, outbox.document([{ ...input.event, key: candidate.id }]), outbox.channel,
      ],
      { name: 'sessions-create' },
    );
    const created = inserted.rows[0];
    if (created) {
      const { notified: _notified, ...row } = created;
      if (remember) this.cache.remember(row);
      return { session: toSession(row), created: true };
    }
    const existing = await sql.query<SessionRow>(
      `SELECT * FROM sessions.sessions WHERE agent_id = $1 AND context_id = $2 AND status = ANY($3)`,
      [candidate.agentId, candidate.contextId, OPEN_STATES],
    );
    const found = existing.rows[0];
    if (!found) throw new Error('open session vanished between insert and read');
    return { session: toSession(found), created: false };
  }

  async get(id: string): Promise<Session | undefined> {
    const { rows } = await this.db.query<SessionRow>(`SELECT * FROM sessions.sessions WHERE id = $1`, [id]);
    if (!rows[0]) return undefined;
    this.cache.remember(rows[0]);
    return toSession(rows[0]);
  }

  async findOpen(agentId: string, contextId: string): Promise<Session | undefined> {
    const { rows } = await this.db.query<SessionRow>(
      `SELECT * FROM sessions.sessions WHERE agent_id = $1 AND context_id = $2 AND status = ANY($3)`,
      [agentId, contextId, OPEN_STATES],
    );
    return rows[0] ? toSession(rows[0]) : undefined;
  }

  async list(filter: ListFilter): Promise<Session[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.status) add('status = ?', filter.status);
    if (filter.role) add('role = ?', filter.role);
    if (filter.agentId) add('agent_id = ?', filter.agentId);
    if (filter.contextId) add('context_id = ?', filter.contextId);
    if (filter.cursor) {
      params.push(filter.cursor.createdAt, filter.cursor.id);
      where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(filter.limit);
    const { rows } = await this.db.query<SessionRow>(
      `SELECT * FROM sessions.sessions ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(toSession);
  }

  async listTransitions(id: string): Promise<ReturnType<typeof toTransition>[]> {
    const { rows } = await this.db.query<SessionTransitionRow>(
      `SELECT * FROM sessions.session_transitions WHERE session_id = $1 ORDER BY seq`,
      [id],
    );
    return rows.map(toTransition);
  }

  /**
   * Applies one event so that concurrent events on one session serialise: each is decided on the
   * state the previous one left, none is lost or applied twice.
   *
   * Fast path (optimistic): decide on the cached row, else on a (batched) read, and write through
   * the batcher guarded by that row's version. A guard miss (another replica or request wrote
   * first) or a decision on a cached row that refuses or does nothing is decided again on a fresh
   * read, so every refusal and every no-op reflects the stored state. After a bounded number of
   * misses, decide under the row lock, where concurrent events queue. Events of one session that
   * reach this replica together queue in process first (PerKeyQueue) rather than race.
   *
   * Requests with an idempotency key take the locked path, which checks and records the key in the
   * same transaction as the transition: exactly once, and rare enough not to need batching.
   */
  async applyEvent(
    id: string,
    meta: TransitionMeta,
    decide: (current: Session) => Decision,
  ): Promise<{ session: Session; applied: boolean }> {
    // Postgres prints uuids in lower case: the cache and the queue key on that spelling.
    const key = id.toLowerCase();
    return this.perSession.run(key, () => this.applyInTurn(key, meta, decide));
  }

  private async applyInTurn(
    id: string,
    meta: TransitionMeta,
    decide: (current: Session) => Decision,
  ): Promise<{ session: Session; applied: boolean }> {
    if (!meta.idempotencyKey) {
      const cached = this.cache.get(id);
      const fromCache = cached && (await this.attempt(cached, meta, decide, true));
      if (fromCache) return fromCache;
      for (let attempt = 0; attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
        const row = await this.reads.submit(id);
        if (!row) {
          this.cache.forget(id, Number.POSITIVE_INFINITY);
          throw sessionNotFound(id);
        }
        this.cache.remember(row);
        const result = await this.attempt(row, meta, decide, false);
        if (result) return result;
      }
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const { session, applied, row } = await this.db.transaction((tx) => this.applyInTx(tx, id, meta, decide));
        // Only now is it committed.
        if (row) this.cache.remember(row);
        return { session, applied };
      } catch (error) {
        const code = pgErrorCode(error);
        if (code && RETRYABLE_TX_CODES.has(code) && attempt < MAX_TX_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  /**
   * Decides on `row` and writes the move through the batcher. Undefined when it must be decided
   * again on a fresh read: the guard missed, or (for a cached row, which may be stale) the decision
   * refused the event or found nothing to do.
   */
  private async attempt(
    row: SessionRow,
    meta: TransitionMeta,
    decide: (current: Session) => Decision,
    cached: boolean,
  ): Promise<{ session: Session; applied: boolean } | undefined> {
    let decision: Decision;
    try {
      decision = decide(toSession(row));
    } catch (error) {
      if (cached) return undefined;
      throw error;
    }
    if (decision.kind === 'noop') return cached ? undefined : { session: toSession(row), applied: false };
    const written = await this.writes.submit(this.pending(row, meta, decision));
    if (!written) {
      this.cache.forget(row.id, row.version);
      return undefined;
    }
    this.cache.remember(written);
    return { session: toSession(written), applied: true };
  }

  /** A decided transition (its event validated when the service chose it: a bad one fails that request, not its batch). */
  private pending(row: SessionRow, meta: TransitionMeta, decision: Move): PendingTransition {
    const traceId = trace.getActiveSpan()?.spanContext().traceId ?? null;
    return { row, meta, decision, traceId };
  }

  /** The batcher's write: one statement; if Postgres aborts it as a deadlock (replicas locking rows in turn), each item alone. */
  private async writeBatch(items: PendingTransition[]): Promise<Array<SessionRow | undefined>> {
    try {
      return await this.writeTransitions(this.db, items);
    } catch (error) {
      const code = pgErrorCode(error);
      if (items.length === 1 || !code || !RETRYABLE_TX_CODES.has(code)) throw error;
      return Promise.all(items.map(async (item) => (await this.writeTransitions(this.db, [item]))[0]));
    }
  }

  /**
   * Writes N decided transitions as ONE statement: each session's UPDATE guarded by the version it
   * was decided on, its transition row and its outbox row for each update the guard let through,
   * and one wake-up of the relay. Returns, per item in order, the updated row, or undefined where
   * the version had moved (nothing of that item written). Items must be of distinct sessions.
   *
   * Each row is found by a LATERAL lookup on the primary key and updated by its ctid, not by a
   * plain join of the batch with the table: the generic plan a pooled connection caches early,
   * while the table is empty and unanalysed, makes such a join a hash join over a sequential scan,
   * and keeps it as the table grows. The lateral lookup (its LIMIT stops the planner flattening it)
   * is an index scan per batch row and the ctid match a TID scan, whatever the statistics; the
   * version check on `s` is what a concurrent writer trips when the row is re-checked.
   */
  private async writeTransitions(sql: Sql, items: PendingTransition[]): Promise<Array<SessionRow | undefined>> {
    // Rows are locked in id order whoever writes them, so two batches wait for each other rather than deadlock.
    const sorted = [...items].sort((a, b) => (a.row.id < b.row.id ? -1 : a.row.id > b.row.id ? 1 : 0));
    const column = <T>(pick: (item: PendingTransition) => T): T[] => sorted.map(pick);
    if (sorted.length === 0) return [];
    const { rows } = await sql.query<SessionRow & { notified: unknown }>(
      `WITH v AS (
         SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[],
                              $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::text[], $11::text[], $12::text[],
                              $13::text[], $14::text[], $15::text[])
                WITH ORDINALITY AS v(id, version, to_state, now, last_transition_at, paused_at, completed_at, failed_at, expired_at,
                                     from_state, event, actor, reason, causation_id, trace_id, ord)
       ), updated AS (
         UPDATE sessions.sessions s
            SET status = v.to_state, version = s.version + 1, updated_at = v.now, last_transition_at = v.last_transition_at,
                paused_at = v.paused_at, completed_at = v.completed_at, failed_at = v.failed_at, expired_at = v.expired_at
           FROM v CROSS JOIN LATERAL (
                  SELECT c.ctid AS tid, c.version FROM sessions.sessions c WHERE c.id = v.id AND c.version = v.version LIMIT 1
                ) guarded
          WHERE s.ctid = guarded.tid AND s.version = guarded.version
          RETURNING s.*
       ), transition AS (
         INSERT INTO sessions.session_transitions (session_id, from_state, to_state, event, actor, reason, causation_id, trace_id, occurred_at)
         SELECT v.id, v.from_state, v.to_state, v.event, v.actor, v.reason, v.causation_id, v.trace_id, v.now
           FROM v JOIN updated USING (id) ORDER BY v.ord
       ), outboxed AS (${outbox.insertSql(16, 'updated')})
       SELECT updated.*, ${outbox.notifySql(17, 'outboxed')} FROM updated`,
      [
        column((i) => i.row.id),
        column((i) => i.row.version),
        column((i) => i.decision.to),
        column((i) => i.decision.now),
        column((i) => i.decision.timestamps.lastTransitionAt),
        column((i) => i.decision.timestamps.pausedAt),
        column((i) => i.decision.timestamps.completedAt),
        column((i) => i.decision.timestamps.failedAt),
        column((i) => i.decision.timestamps.expiredAt),
        column((i) => i.row.status),
        column((i) => i.meta.event),
        column((i) => i.meta.actor),
        column((i) => i.meta.reason),
        column((i) => i.meta.causationId),
        column((i) => i.traceId),
        // In the same (id) order as v: the events go out in the order their transitions are written.
        outbox.document(sorted.map((i) => ({ ...i.decision.event, key: i.row.id }))),
        outbox.channel,
      ],
      { name: 'sessions-transition-batch' },
    );
    const byId = new Map<string, SessionRow>();
    for (const { notified: _notified, ...row } of rows) byId.set(row.id, row);
    return items.map((item) => byId.get(item.row.id));
  }

  /** The batcher's read of the rows the cache lacks: one statement for every id asked meanwhile. */
  private async readBatch(ids: string[]): Promise<Array<SessionRow | undefined>> {
    const wanted = [...new Set(ids.filter((id) => UUID.test(id)))];
    const byId = new Map<string, SessionRow>();
    if (wanted.length > 0) {
      // A lookup per id by the index (not `id = ANY($1)`, which a generic plan made on a small table scans it for).
      const { rows } = await this.db.query<SessionRow>(
        `SELECT s.* FROM unnest($1::uuid[]) AS q(id)
           CROSS JOIN LATERAL (SELECT * FROM sessions.sessions c WHERE c.id = q.id LIMIT 1) s`,
        [wanted],
        { name: 'sessions-read-batch' },
      );
      for (const row of rows) byId.set(row.id, row);
    }
    return ids.map((id) => byId.get(id));
  }

  private async applyInTx(
    tx: Sql,
    id: string,
    meta: TransitionMeta,
    decide: (current: Session) => Decision,
  ): Promise<{ session: Session; applied: boolean; row?: SessionRow }> {
    const locked = await tx.query<SessionRow>(`SELECT * FROM sessions.sessions WHERE id = $1 FOR UPDATE`, [id]);
    const row = locked.rows[0];
    if (!row) throw sessionNotFound(id);
    if (meta.idempotencyKey) {
      const seen = await tx.query<{ response: Session }>(
        `SELECT response FROM sessions.idempotency_keys WHERE operation = 'apply-event' AND key = $1`,
        [meta.idempotencyKey],
      );
      if (seen.rows[0]) return { session: seen.rows[0].response, applied: false };
    }
    const current = toSession(row);
    const decision = decide(current);
    let result = current;
    let written: SessionRow | undefined;
    if (decision.kind === 'move') {
      [written] = await this.writeTransitions(tx, [this.pending(row, meta, decision)]);
      // Impossible under the row lock; surfaces as a retryable serialization failure if it ever happens.
      if (!written) throw Object.assign(new Error('session version moved under lock'), { code: '40001' });
      result = toSession(written);
    }
    if (meta.idempotencyKey) {
      await tx.query(
        `INSERT INTO sessions.idempotency_keys (operation, key, session_id, response) VALUES ('apply-event', $1, $2, $3)`,
        [meta.idempotencyKey, id, JSON.stringify(result)],
      );
    }
    return { session: result, applied: decision.kind === 'move', row: written ?? row };
  }

  /** Open sessions whose last transition is older than `before`, oldest first. */
  async findIdle(before: Date, limit: number): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM sessions.sessions WHERE status = ANY($1) AND last_transition_at < $2
        ORDER BY last_transition_at LIMIT $3`,
      [OPEN_STATES, before, limit],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Deletes terminal sessions (and, by cascade, their transitions) whose last transition is before
   * `before`, at most `limit`. The batch is found by the status index and deleted by ctid:
   * `id IN (SELECT … LIMIT n)` is planned as a hash join over the whole table.
   */
  lockedJob<T>(name: string, work: (tx: Sql) => Promise<T>): Promise<{ ran: boolean; result?: T }> {
    return this.db.withAdvisoryLock(`sessions-job-${name}`, work);
  }
}
