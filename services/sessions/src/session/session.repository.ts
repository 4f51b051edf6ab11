import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import {
  SessionCreated,
  SessionTransitioned,
  TERMINAL_SESSION_STATES,
  type Session,
  type SessionEventName,
  type SessionState,
} from '@orgmesh/contracts';
import { enqueueEvent, prepareOutboxEvent } from '@orgmesh/messaging';
import { pgErrorCode, type Database, type Sql } from '@orgmesh/persistence';
import type { SessionRow, SessionTransitionRow } from './session.entity.js';
import { toSession, toTransition } from './session.mapper.js';
import { sessionNotFound } from './session.errors.js';
import type { SessionTimestamps } from './session.fsm.js';

export const SESSIONS_SCHEMA = 'sessions';
const OPEN_STATES: SessionState[] = ['pending', 'active', 'paused'];

/** What the domain decided for one event on the locked row. */
export type Decision =
  | { kind: 'noop' }
  | { kind: 'move'; to: SessionState; timestamps: SessionTimestamps; now: Date };

export interface TransitionMeta {
  event: SessionEventName;
  actor: string;
  reason: string | null;
  causationId: string | null;
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

const RETRYABLE_TX_CODES = new Set(['40001', '40P01']);
const MAX_TX_ATTEMPTS = 5;
/** Optimistic attempts before falling back to the row lock (hot sessions under heavy contention). */
const OPTIMISTIC_ATTEMPTS = 3;

/** All SQL of the sessions service. Each write commits its row, its history and its outbox event together. */
export class SessionRepository {
  constructor(private readonly db: Database) {}

  async create(input: {
    agentId: string;
    role: string;
    contextId: string;
    metadata: Record<string, unknown>;
    now: Date;
    idempotencyKey?: string;
  }): Promise<{ session: Session; created: boolean }> {
    return this.db.transaction(async (tx) => {
      const key = input.idempotencyKey;
      if (key) {
        // Same-key creates queue here, so the second sees the first's record.
        await tx.query(`SELECT pg_advisory_xact_lock(hashtext('sessions-create:' || $1))`, [key]);
        const seen = await tx.query<{ response: Session }>(
          `SELECT response FROM sessions.idempotency_keys WHERE operation = 'create' AND key = $1`,
          [key],
        );
        if (seen.rows[0]) return { session: seen.rows[0].response, created: false };
      }
      const result = await this.insertOrFindOpen(tx, input);
      if (key) {
        await tx.query(
          `INSERT INTO sessions.idempotency_keys (operation, key, session_id, response) VALUES ('create', $1, $2, $3)`,
          [key, result.session.id, JSON.stringify(result.session)],
        );
      }
      return result;
    });
  }

  private async insertOrFindOpen(
    tx: Sql,
    input: { agentId: string; role: string; contextId: string; metadata: Record<string, unknown>; now: Date },
  ): Promise<{ session: Session; created: boolean }> {
    {
      const inserted = await tx.query<SessionRow>(
        `INSERT INTO sessions.sessions (id, agent_id, role, context_id, status, version, metadata, created_at, updated_at, last_transition_at)
         VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $6, $6)
         ON CONFLICT (agent_id, context_id) WHERE status IN ('pending','active','paused') DO NOTHING
         RETURNING *`,
        [randomUUID(), input.agentId, input.role, input.contextId, JSON.stringify(input.metadata), input.now],
      );
      const row = inserted.rows[0];
      if (row) {
        const session = toSession(row);
        await enqueueEvent(tx, SESSIONS_SCHEMA, SessionCreated, session);
        return { session, created: true };
      }
      const existing = await tx.query<SessionRow>(
        `SELECT * FROM sessions.sessions WHERE agent_id = $1 AND context_id = $2 AND status = ANY($3)`,
        [input.agentId, input.contextId, OPEN_STATES],
      );
      const found = existing.rows[0];
      if (!found) throw new Error('open session vanished between insert and read');
      return { session: toSession(found), created: false };
    }
  }

  async get(id: string): Promise<Session | undefined> {
    const { rows } = await this.db.query<SessionRow>(`SELECT * FROM sessions.sessions WHERE id = $1`, [id]);
    return rows[0] ? toSession(rows[0]) : undefined;
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
   * Applies one event. Fast path (optimistic concurrency): read the row, decide, then write the
   * session, its transition and its outbox event in ONE statement guarded by the version read — a
   * single round trip and an implicit transaction. If another event moved the version in between,
   * re-read and decide again, a bounded number of times; then fall back to deciding under the
   * row lock, where concurrent events queue. Either way each event sees the state the previous one
   * left, so none is lost or applied twice. Requests with an idempotency key take the locked path,
   * which checks and records the key in the same transaction.
   */
  async applyEvent(
    id: string,
    meta: TransitionMeta,
    decide: (current: Session) => Decision,
  ): Promise<{ session: Session; applied: boolean }> {
    if (!meta.idempotencyKey) {
      for (let attempt = 0; attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
        const { rows } = await this.db.query<SessionRow>(`SELECT * FROM sessions.sessions WHERE id = $1`, [id]);
        const row = rows[0];
        if (!row) throw sessionNotFound(id);
        const current = toSession(row);
        const decision = decide(current);
        if (decision.kind === 'noop') return { session: current, applied: false };
        const next = await this.writeTransition(this.db, row, meta, decision);
        if (next) return { session: next, applied: true };
      }
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction((tx) => this.applyInTx(tx, id, meta, decide));
      } catch (error) {
        const code = pgErrorCode(error);
        if (code && RETRYABLE_TX_CODES.has(code) && attempt < MAX_TX_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  /**
   * The UPDATE (guarded by the version read), the transition row, the outbox row and the relay's
   * wake-up, as one statement. Returns undefined when the version moved (nothing written).
   */
  private async writeTransition(
    sql: Sql,
    row: SessionRow,
    meta: TransitionMeta,
    decision: Extract<Decision, { kind: 'move' }>,
  ): Promise<Session | undefined> {
    const ts = decision.timestamps;
    const event = prepareOutboxEvent(SESSIONS_SCHEMA, SessionTransitioned, {
      sessionId: row.id,
      agentId: row.agent_id,
      role: row.role,
      contextId: row.context_id,
      from: row.status,
      to: decision.to,
      event: meta.event,
      actor: meta.actor,
      reason: meta.reason,
      causationId: meta.causationId,
      version: row.version + 1,
      occurredAt: decision.now.toISOString(),
    });
    const traceId = trace.getActiveSpan()?.spanContext().traceId ?? null;
    const { rows } = await sql.query<SessionRow>(
      `WITH updated AS (
         UPDATE sessions.sessions
            SET status = $3, version = version + 1, updated_at = $4, last_transition_at = $5,
                paused_at = $6, completed_at = $7, failed_at = $8, expired_at = $9
          WHERE id = $1 AND version = $2
          RETURNING *
       ), transition AS (
         INSERT INTO sessions.session_transitions (session_id, from_state, to_state, event, actor, reason, causation_id, trace_id, occurred_at)
         SELECT id, $10, $3, $11, $12, $13, $14, $15, $4 FROM updated
       ), outboxed AS (
         INSERT INTO sessions.outbox (event_id, subject, payload, headers)
         SELECT $16, $17, $18::jsonb, $19::jsonb FROM updated
         RETURNING seq
       )
       SELECT updated.*, (SELECT count(pg_notify($20, '')) FROM outboxed) AS notified FROM updated`,
      [
        row.id, row.version, decision.to, decision.now, ts.lastTransitionAt, ts.pausedAt, ts.completedAt, ts.failedAt, ts.expiredAt,
        row.status, meta.event, meta.actor, meta.reason, meta.causationId, traceId,
        event.eventId, event.subject, event.payload, event.headers, event.channel,
      ],
    );
    const updated = rows[0];
    if (!updated) return undefined;
    const { notified: _notified, ...sessionRow } = updated as SessionRow & { notified: unknown };
    return toSession(sessionRow);
  }

  private async applyInTx(
    tx: Sql,
    id: string,
    meta: TransitionMeta,
    decide: (current: Session) => Decision,
  ): Promise<{ session: Session; applied: boolean }> {
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
    if (decision.kind === 'move') {
      const next = await this.writeTransition(tx, row, meta, decision);
      // Impossible under the row lock; surfaces as a retryable serialization failure if it ever happens.
      if (!next) throw Object.assign(new Error('session version moved under lock'), { code: '40001' });
      result = next;
    }
    if (meta.idempotencyKey) {
      await tx.query(
        `INSERT INTO sessions.idempotency_keys (operation, key, session_id, response) VALUES ('apply-event', $1, $2, $3)`,
        [meta.idempotencyKey, id, JSON.stringify(result)],
      );
    }
    return { session: result, applied: decision.kind === 'move' };
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

  /** Deletes terminal sessions (and, by cascade, their transitions) whose last transition is before `before`. */
  async deleteTerminalBefore(tx: Sql, before: Date, limit: number): Promise<number> {
    const { rowCount } = await tx.query(
      `DELETE FROM sessions.sessions WHERE id IN (
         SELECT id FROM sessions.sessions WHERE status = ANY($1) AND last_transition_at < $2 LIMIT $3)`,
      [TERMINAL_SESSION_STATES, before, limit],
    );
    return rowCount;
  }

  /** Drops idempotency records older than `before` (their retry window is long past). */
  async deleteIdempotencyKeysBefore(tx: Sql, before: Date): Promise<number> {
    const { rowCount } = await tx.query(`DELETE FROM sessions.idempotency_keys WHERE created_at < $1`, [before]);
    return rowCount;
  }

  lockedJob<T>(name: string, work: (tx: Sql) => Promise<T>): Promise<{ ran: boolean; result?: T }> {
    return this.db.withAdvisoryLock(`sessions-job-${name}`, work);
  }
}
