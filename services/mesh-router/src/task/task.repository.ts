import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import {
  InboxDelivery,
  TaskCreated,
  TaskUpdated,
  parseOrThrow,
  type Task,
  type TaskChange,
  type TaskDecision,
  type TaskEscalation,
  type TaskHistoryEvent,
  type TaskKind,
  type TaskPriority,
  type TaskSender,
  type TaskState,
} from '@orgmesh/contracts';
import { enqueueEvent, injectTraceContext, outboxChannel } from '@orgmesh/messaging';
import { pgErrorCode, type Database, type Sql } from '@orgmesh/persistence';
import type { TaskEventRow, TaskRow } from './task.entity.js';
import { toTask } from './task.mapper.js';
import { taskNotFound } from './task.errors.js';

export const MESH_SCHEMA = 'mesh';
const OPEN_STATES: TaskState[] = ['submitted', 'working', 'input-required'];
const RETRYABLE_TX_CODES = new Set(['40001', '40P01']);
const MAX_TX_ATTEMPTS = 5;

export interface NewTask {
  id: string;
  kind: TaskKind;
  from: TaskSender;
  to: { role: string; agentId: string | null };
  type: string | null;
  subject: string | null;
  input: unknown;
  details: unknown;
  message: string | null;
  priority: TaskPriority;
  contextId: string;
  deadline: Date;
  escalateAt: Date | null;
  now: Date;
}

/** An idempotency record to write with a change: a repeat of (operation, actor, key) returns `response`. */
export interface IdempotencyClaim {
  operation: string;
  actor: string;
  key: string;
  fingerprint: string;
}

/** What the domain decided for one command on the locked row. */
export type TaskDecisionOutcome =
  | { kind: 'noop' }
  | {
      kind: 'change';
      event: TaskHistoryEvent;
      to: TaskState;
      reason: string | null;
      patch: {
        assignee?: TaskSender;
        result?: unknown;
        decision?: TaskDecision;
        escalatedTo?: TaskEscalation | null;
        escalatedAt?: Date;
      };
      /** Deliver the changed task to another inbox too (an escalation). */
      deliverTo?: string;
      now: Date;
    };

export interface ChangeMeta {
  actor: string;
  idempotency?: IdempotencyClaim;
}

export interface TaskListFilter {
  role?: string;
  agentId?: string;
  state?: TaskState;
  kind?: TaskKind;
  contextId?: string;
  direction: 'inbound' | 'outbound' | 'any';
  /** Restricts to tasks this caller is a party to (non-admins). */
  visibleTo?: { agentId: string; role: string };
  limit: number;
  cursor?: { createdAt: string; id: string };
}

/** A previous answer stored under an idempotency key. */
export interface StoredResponse {
  fingerprint: string;
  response: Task;
}

const jsonOrNull = (value: unknown): string | null => (value === undefined || value === null ? null : JSON.stringify(value));

/**
 * All SQL of the mesh router. Every write commits the task row, its history entry, its event and
 * (for new tasks and escalations) its inbox delivery in one transaction: the outbox relay
 * publishes them afterwards, so nothing is delivered that was not stored and nothing stored is
 * left undelivered.
 */
export class TaskRepository {
  constructor(private readonly db: Database) {}

  async findIdempotent(operation: string, actor: string, key: string): Promise<StoredResponse | undefined> {
    const { rows } = await this.db.query<StoredResponse>(
      `SELECT fingerprint, response FROM mesh.idempotency_keys WHERE operation = $1 AND actor = $2 AND key = $3`,
      [operation, actor, key],
    );
    return rows[0];
  }

  /**
   * Stores a new task, its `create` history entry, the task-created event and the inbox delivery.
   * With an idempotency claim the key is taken first: a concurrent repeat waits on it and then
   * gets the first task (`created: false`).
   */
  async create(input: NewTask, deliverTo: string, idempotency?: IdempotencyClaim): Promise<{ task: Task; created: boolean; fingerprint?: string }> {
    return this.db.transaction(async (tx) => {
      if (idempotency) {
        const claimed = await tx.query(
          `INSERT INTO mesh.idempotency_keys (operation, actor, key, fingerprint, response) VALUES ($1, $2, $3, $4, '{}'::jsonb)
           ON CONFLICT DO NOTHING RETURNING key`,
          [idempotency.operation, idempotency.actor, idempotency.key, idempotency.fingerprint],
        );
        if (claimed.rows.length === 0) {
          const { rows } = await tx.query<StoredResponse>(
            `SELECT fingerprint, response FROM mesh.idempotency_keys WHERE operation = $1 AND actor = $2 AND key = $3`,
            [idempotency.operation, idempotency.actor, idempotency.key],
          );
          const first = rows[0];
          if (!first) throw new Error('idempotency key vanished between insert and read');
          return { task: first.response, created: false, fingerprint: first.fingerprint };
        }
      }
      const { rows } = await tx.query<TaskRow>(
        `INSERT INTO mesh.tasks (id, kind, from_agent_id, from_role, to_role, to_agent_id, type, subject, input, details, message,
                                 priority, state, context_id, deadline, escalate_at, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11, $12, 'submitted', $13, $14, $15, 1, $16, $16)
         RETURNING *`,
        [
          input.id,
          input.kind,
          input.from.agentId,
          input.from.role,
          input.to.role,
          input.to.agentId,
          input.type,
          input.subject,
          jsonOrNull(input.input),
          jsonOrNull(input.details),
          input.message,
          input.priority,
          input.contextId,
          input.deadline,
          input.escalateAt,
          input.now,
        ],
      );
      const row = rows[0];
      if (!row) throw new Error('task insert returned no row');
      const task = toTask(row);
      await this.appendHistory(tx, task.id, 'create', null, 'submitted', input.from.agentId, null, input.now);
      const change: TaskChange = {
        task,
        change: { event: 'create', from: null, to: 'submitted', actor: input.from.agentId, reason: null, occurredAt: input.now.toISOString() },
      };
      await enqueueEvent(tx, MESH_SCHEMA, TaskCreated, change);
      await enqueueDelivery(tx, deliverTo, task);
      if (idempotency) await this.storeIdempotentResponse(tx, idempotency, task);
      return { task, created: true };
    });
  }

  async get(id: string, includeHistory: boolean): Promise<Task | undefined> {
    const { rows } = await this.db.query<TaskRow>(`SELECT * FROM mesh.tasks WHERE id = $1`, [id]);
    const row = rows[0];
    if (!row) return undefined;
    return toTask(row, includeHistory ? await this.history(this.db, id) : undefined);
  }

  async list(filter: TaskListFilter): Promise<Task[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (filter.state) where.push(`state = ${p(filter.state)}`);
    if (filter.kind) where.push(`kind = ${p(filter.kind)}`);
    if (filter.contextId) where.push(`context_id = ${p(filter.contextId)}`);
    if (filter.role) {
      const role = p(filter.role);
      const inbound = `(to_role = ${role} OR (escalated_to->>'role') = ${role})`;
      const outbound = `from_role = ${role}`;
      where.push(filter.direction === 'inbound' ? inbound : filter.direction === 'outbound' ? outbound : `(${inbound} OR ${outbound})`);
    }
    if (filter.agentId) {
      const agent = p(filter.agentId);
      const inbound = `(to_agent_id = ${agent} OR assignee_agent_id = ${agent})`;
      const outbound = `from_agent_id = ${agent}`;
      where.push(filter.direction === 'inbound' ? inbound : filter.direction === 'outbound' ? outbound : `(${inbound} OR ${outbound})`);
    }
    if (filter.visibleTo) {
      const agent = p(filter.visibleTo.agentId);
      const role = p(filter.visibleTo.role);
      where.push(
        `(from_agent_id = ${agent} OR assignee_agent_id = ${agent} OR to_agent_id = ${agent}
          OR (to_role = ${role} AND to_agent_id IS NULL) OR (escalated_to->>'role') = ${role} OR (escalated_to->>'userId') = ${agent})`,
      );
    }
    if (filter.cursor) {
      where.push(`(created_at, id) < (${p(filter.cursor.createdAt)}::timestamptz, ${p(filter.cursor.id)}::uuid)`);
    }
    const { rows } = await this.db.query<TaskRow>(
      `SELECT * FROM mesh.tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id DESC LIMIT ${p(filter.limit)}`,
      params,
    );
    return rows.map((row) => toTask(row));
  }

  /**
   * Applies one command under the task's row lock, so concurrent updates of one task serialise
   * and each sees the state the previous one left. `decide` is the pure domain decision (it may
   * throw: nothing is written then). A repeated idempotency key returns the first answer.
   */
  async apply(id: string, meta: ChangeMeta, decide: (current: Task) => TaskDecisionOutcome): Promise<{ task: Task; changed: boolean; fingerprint?: string }> {
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

  private async applyInTx(
    tx: Sql,
    id: string,
    meta: ChangeMeta,
    decide: (current: Task) => TaskDecisionOutcome,
  ): Promise<{ task: Task; changed: boolean; fingerprint?: string }> {
    const locked = await tx.query<TaskRow>(`SELECT * FROM mesh.tasks WHERE id = $1 FOR UPDATE`, [id]);
    const row = locked.rows[0];
    if (!row) throw taskNotFound(id);
    if (meta.idempotency) {
      const seen = await tx.query<StoredResponse>(
        `SELECT fingerprint, response FROM mesh.idempotency_keys WHERE operation = $1 AND actor = $2 AND key = $3`,
        [meta.idempotency.operation, meta.idempotency.actor, meta.idempotency.key],
      );
      const first = seen.rows[0];
      if (first) return { task: first.response, changed: false, fingerprint: first.fingerprint };
    }
    const current = toTask(row);
    const outcome = decide(current);
    let result = current;
    if (outcome.kind === 'change') {
      const patch = outcome.patch;
      const updated = await tx.query<TaskRow>(
        `UPDATE mesh.tasks
            SET state = $3, reason = $4, version = version + 1, updated_at = $5,
                assignee_agent_id = COALESCE($6, assignee_agent_id), assignee_role = COALESCE($7, assignee_role),
                result = COALESCE($8::jsonb, result), decision = COALESCE($9::jsonb, decision),
                escalated_to = CASE WHEN $10::boolean THEN $11::jsonb ELSE escalated_to END,
                escalated_at = COALESCE($12, escalated_at)
          WHERE id = $1 AND version = $2
          RETURNING *`,
        [
          id,
          row.version,
          outcome.to,
          outcome.reason,
          outcome.now,
          patch.assignee?.agentId ?? null,
          patch.assignee?.role ?? null,
          jsonOrNull(patch.result),
          jsonOrNull(patch.decision),
          patch.escalatedTo !== undefined,
          jsonOrNull(patch.escalatedTo),
          patch.escalatedAt ?? null,
        ],
      );
      const next = updated.rows[0];
      if (!next) throw Object.assign(new Error('task version moved under lock'), { code: '40001' });
      result = toTask(next);
      await this.appendHistory(tx, id, outcome.event, row.state, outcome.to, meta.actor, outcome.reason, outcome.now);
      await enqueueEvent(tx, MESH_SCHEMA, TaskUpdated, {
        task: result,
        change: { event: outcome.event, from: row.state, to: outcome.to, actor: meta.actor, reason: outcome.reason, occurredAt: outcome.now.toISOString() },
      });
      if (outcome.deliverTo) await enqueueDelivery(tx, outcome.deliverTo, result);
    }
    if (meta.idempotency) {
      await tx.query(
        `INSERT INTO mesh.idempotency_keys (operation, actor, key, fingerprint, task_id, response) VALUES ($1, $2, $3, $4, $5, $6::jsonb)`,
        [meta.idempotency.operation, meta.idempotency.actor, meta.idempotency.key, meta.idempotency.fingerprint, id, JSON.stringify(result)],
      );
    }
    return { task: result, changed: outcome.kind === 'change' };
  }

  /** Open approvals whose escalation time has come and that have not escalated yet, oldest first. */
  async dueForEscalation(now: Date, limit: number): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM mesh.tasks
        WHERE state = ANY($1) AND escalated_at IS NULL AND escalate_at IS NOT NULL AND escalate_at <= $2
        ORDER BY escalate_at LIMIT $3`,
      [OPEN_STATES, now, limit],
    );
    return rows.map((r) => r.id);
  }

  /** Open tasks past their deadline, oldest deadline first. */
  async dueForExpiry(now: Date, limit: number): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM mesh.tasks WHERE state = ANY($1) AND deadline <= $2 ORDER BY deadline LIMIT $3`,
      [OPEN_STATES, now, limit],
    );
    return rows.map((r) => r.id);
  }

  async deleteIdempotencyKeysBefore(tx: Sql, before: Date): Promise<number> {
    const { rowCount } = await tx.query(`DELETE FROM mesh.idempotency_keys WHERE created_at < $1`, [before]);
    return rowCount;
  }

  lockedJob<T>(name: string, work: (tx: Sql) => Promise<T>): Promise<{ ran: boolean; result?: T }> {
    return this.db.withAdvisoryLock(`mesh-job-${name}`, work);
  }

  private async history(sql: Sql, id: string): Promise<TaskEventRow[]> {
    const { rows } = await sql.query<TaskEventRow>(`SELECT * FROM mesh.task_events WHERE task_id = $1 ORDER BY seq`, [id]);
    return rows;
  }

  private async appendHistory(
    tx: Sql,
    id: string,
    event: TaskHistoryEvent,
    from: TaskState | null,
    to: TaskState,
    actor: string,
    reason: string | null,
    at: Date,
  ): Promise<void> {
    const traceId = trace.getActiveSpan()?.spanContext().traceId ?? null;
    await tx.query(
      `INSERT INTO mesh.task_events (task_id, event, from_state, to_state, actor, reason, trace_id, occurred_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [id, event, from, to, actor, reason, traceId, at],
    );
  }

  private async storeIdempotentResponse(tx: Sql, claim: IdempotencyClaim, task: Task): Promise<void> {
    await tx.query(
      `UPDATE mesh.idempotency_keys SET response = $4::jsonb, task_id = $5 WHERE operation = $1 AND actor = $2 AND key = $3`,
      [claim.operation, claim.actor, claim.key, JSON.stringify(task), task.id],
    );
  }
}

/**
 * Puts an inbox delivery into the outbox. `enqueueEvent` publishes on the contract's own subject;
 * a delivery goes to the recipient's inbox subject (`mesh.v1.inbox.<role>`), so the row is written
 * here with the same columns, validation, trace headers and relay wake-up.
 */
async function enqueueDelivery(tx: Sql, subject: string, task: Task): Promise<void> {
  const body = parseOrThrow(InboxDelivery.schema, task, 'inbox delivery');
  const headers = injectTraceContext({});
  await tx.query(
    `WITH inserted AS (
       INSERT INTO mesh.outbox (event_id, subject, payload, headers) VALUES ($1, $2, $3::jsonb, $4::jsonb) RETURNING seq
     )
     SELECT pg_notify($5, '') FROM inserted`,
    [randomUUID(), subject, JSON.stringify(body), JSON.stringify(headers), outboxChannel(MESH_SCHEMA)],
  );
}
