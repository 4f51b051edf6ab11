import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import {
  AppError,
  InboxDelivery,
  TASK_VISIBILITY,
  TaskCreated,
  TaskUpdated,
  parseOrThrow,
  type EventDefinition,
  type EventPayload,
  type Task,
  type TaskChange,
  type TaskDecision,
  type TaskEscalation,
  type TaskHistoryEvent,
  type TaskKind,
  type TaskPartyField,
  type TaskPriority,
  type TaskSender,
  type TaskState,
} from '@orgmesh/contracts';
import { injectTraceContext, outboxChannel } from '@orgmesh/messaging';
import { pgErrorCode, RowCache, WriteBatcher, type Database, type Sql } from '@orgmesh/persistence';
import type { TaskEventRow, TaskRow } from './task.entity.js';
import { fromTask, toTask } from './task.mapper.js';
import { taskNotFound } from './task.errors.js';

export const MESH_SCHEMA = 'mesh';
const OPEN_STATES: TaskState[] = ['submitted', 'working', 'input-required'];
/** Optimistic attempts before an update queues on the row lock instead. */
const OPTIMISTIC_ATTEMPTS = 3;

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

const jsonOrNull = (value: unknown): string | null =>
  value === undefined || value === null ? null : JSON.stringify(value);

/**
 * All SQL of the mesh router.
 *
 * Every write is ONE statement (data-modifying CTEs): the task row, its history entry, its event
 * and its inbox delivery (the outbox rows) and the idempotency record commit together, atomically,
 * in a single round trip. Updates are optimistic: read the task (with any stored idempotent answer),
 * let the domain decide, write guarded by the version read; a concurrent change makes the guard
 * miss and the command is decided again on the new state. This is the sessions pattern (row,
 * history and outbox in one transaction) with the row lock and the BEGIN/COMMIT round trips taken
 * out, because every round trip counts at a thousand task lifecycles per second.
 */
export class TaskRepository {
  private committed: ((rows: OutboxRow[]) => void) | undefined;
  private stateChanged: ((kind: string, state: string) => void) | undefined;
  /** The last row this replica wrote or read per task: the fast path of updates (see attemptFromCache). */
  private readonly cache = new RowCache<TaskRow>(10_000);
  /** Group commit of creates and of fast-path updates (see WriteBatcher): N concurrent writes, one statement. */
  private readonly creates: WriteBatcher<CreateItem, boolean>;
  private readonly updates: WriteBatcher<UpdateItem, boolean>;
  private readonly idempotencyReads: WriteBatcher<
    { operation: string; actor: string; key: string },
    StoredResponse | undefined
  >;

  constructor(
    private readonly db: Database,
    batching: { maxBatch?: number; maxInFlight?: number } = {},
  ) {
    this.creates = new WriteBatcher((items) => this.createBatch(items), {
      ...batching,
      // Twins (one idempotency key) go in successive batches: the second then finds the first's answer.
      keyOf: (item) => (item.claim ? idempotencyId(item.claim) : item.row.id),
    });
    this.updates = new WriteBatcher((items) => this.updateBatch(items), {
      ...batching,
      // Two changes of one task are decided one after the other, never in one statement.
      keyOf: (item) => item.next.id,
    });
    this.idempotencyReads = new WriteBatcher((keys) => this.findIdempotentBatch(keys), batching);
  }

  /**
   * Hands every committed write's outbox rows to `listener` (the eager publisher) instead of
   * waking the relay with NOTIFY; the relay then finds by polling only what the listener missed.
   */
  onCommitted(listener: (rows: OutboxRow[]) => void): void {
    this.committed = listener;
  }

  /** Tells `listener` the kind and new state of every task this replica created or changed, once committed (the transitions counter). */
  onStateChange(listener: (kind: string, state: string) => void): void {
    this.stateChanged = listener;
  }

  /**
   * Another replica's task-created/task-updated event: remembers the row it describes (newer
   * versions only), so an update that lands here after a change made there is decided on the
   * fast path instead of reading the row first. A hint like every cached row: the write stays
   * guarded by the version.
   */
  learn(task: Task): boolean {
    return this.cache.remember(fromTask(task));
  }

  /** Updates decided on a cached row and written at the first try, and those that had to read the row. */
  readonly cacheStats = { hits: 0, misses: 0 };

  /**
   * Marks rows the eager publisher published, so the relay skips them; a row the relay marked
   * first keeps its time. Each row is found by its event id alone and updated by ctid (ADR 0007):
   * with `published_at IS NULL` in the same scan, the planner ANDed in a bitmap of the whole
   * unpublished index, dead entries and all (8 % of Postgres's CPU under the mesh benchmark).
   */
  async markPublished(eventIds: string[]): Promise<void> {
    await this.db.query(
      `UPDATE mesh.outbox t SET published_at = now()
         FROM unnest($1::uuid[]) AS e(id)
         CROSS JOIN LATERAL (SELECT ctid AS tid FROM mesh.outbox WHERE event_id = e.id LIMIT 1) found
        WHERE t.ctid = found.tid AND t.published_at IS NULL`,
      [eventIds],
      { name: 'mesh-outbox-mark' },
    );
  }

  /** Wakes the relay (after an eager publish failed). */
  async wakeRelay(): Promise<void> {
    await this.db.query(`SELECT pg_notify($1, '')`, [outboxChannel(MESH_SCHEMA)]);
  }

  /** A batch statement's relay wake-up (once per statement, param `$index`), unless a listener publishes. */
  private batchNotify(index: number): string {
    return this.committed
      ? `0 AS notified`
      : `(SELECT count(*) FROM (SELECT pg_notify($${index}, '') FROM o LIMIT 1) n)::int AS notified`;
  }

  /** A batch statement's prepared name: its text differs with and without the relay wake-up. */
  private statementName(base: string): string {
    return `${base}${this.committed ? '' : '-notify'}`;
  }

  private batchNotifyParams(): string[] {
    return this.committed ? [] : [outboxChannel(MESH_SCHEMA)];
  }

  /** The stored answer of (operation, actor, key), if any. Concurrent lookups share one statement. */
  findIdempotent(operation: string, actor: string, key: string): Promise<StoredResponse | undefined> {
    return this.idempotencyReads.submit({ operation, actor, key });
  }

  private async findIdempotentBatch(
    keys: Array<{ operation: string; actor: string; key: string }>,
  ): Promise<Array<StoredResponse | undefined>> {
    const { rows } = await this.db.query<StoredResponse & { operation: string; actor: string; key: string }>(
      // A lateral lookup per key, by the index, for the reason given at updateMany.
      `SELECT q.operation, q.actor, q.key, k.fingerprint, k.response
         FROM unnest($1::text[], $2::text[], $3::text[]) AS q(operation, actor, key)
         CROSS JOIN LATERAL (
           SELECT fingerprint, response FROM mesh.idempotency_keys k
            WHERE k.operation = q.operation AND k.actor = q.actor AND k.key = q.key LIMIT 1) k`,
      [keys.map((k) => k.operation), keys.map((k) => k.actor), keys.map((k) => k.key)],
      { name: 'mesh-idempotency-find' },
    );
    const found = new Map(
      rows.map((r) => [idempotencyId(r), { fingerprint: r.fingerprint, response: r.response }]),
    );
    return keys.map((k) => found.get(idempotencyId(k)));
  }

  /**
   * Stores a new task, its `create` history entry, the task-created event and the inbox delivery.
   * With an idempotency claim, the key's row gates the whole statement: a repeat (even a
   * concurrent one) inserts nothing and gets the first task back (`created: false`).
   */
  async create(
    input: NewTask,
    deliverTo: string,
    idempotency?: IdempotencyClaim,
  ): Promise<{ task: Task; created: boolean; fingerprint?: string }> {
    const row: TaskRow = {
      id: input.id,
      kind: input.kind,
      from_agent_id: input.from.agentId,
      from_role: input.from.role,
      to_role: input.to.role,
      to_agent_id: input.to.agentId,
      assignee_agent_id: null,
      assignee_role: null,
      type: input.type,
      subject: input.subject,
      input: input.input ?? null,
      details: input.details ?? null,
      message: input.message,
      priority: input.priority,
      state: 'submitted',
      reason: null,
      context_id: input.contextId,
      deadline: input.deadline,
      escalate_at: input.escalateAt,
      result: null,
      decision: null,
      escalated_to: null,
      escalated_at: null,
      version: 1,
      created_at: input.now,
      updated_at: input.now,
    };
    const task = toTask(row);
    const change: TaskChange = {
      task,
      change: {
        event: 'create',
        from: null,
        to: 'submitted',
        actor: input.from.agentId,
        reason: null,
        occurredAt: input.now.toISOString(),
      },
    };
    const outbox = [
      outboxRow(TaskCreated, TaskCreated.subject, change),
      // The task's id is its first inbox delivery's message id: the re-delivery sweep
      // (delivery/redelivery.ts) publishes it again under the same id, so the stream drops the copy
      // while the original is still in its duplicate window.
      outboxRow(InboxDelivery, deliverTo, task, task.id),
    ];
    const created = await this.creates.submit({
      row,
      task,
      outbox,
      claim: idempotency,
      traceId: currentTraceId(),
    });
    if (created) {
      this.cache.remember(row);
      this.committed?.(outbox);
      this.stateChanged?.(row.kind, row.state);
      return { task, created: true };
    }
    if (!idempotency) throw new Error('task insert wrote nothing');
    const first = await this.findIdempotent(idempotency.operation, idempotency.actor, idempotency.key);
    if (!first) throw new Error('idempotency key vanished between insert and read');
    return { task: first.response, created: false, fingerprint: first.fingerprint };
  }

  async get(id: string, includeHistory: boolean): Promise<Task | undefined> {
    const { rows } = await this.db.query<TaskRow>(`SELECT * FROM mesh.tasks WHERE id = $1`, [id]);
    const row = rows[0];
    if (!row) return undefined;
    return toTask(row, includeHistory ? await this.history(id) : undefined);
  }

  async list(filter: TaskListFilter): Promise<Task[]> {
    const where: string[] = [];
    const params = new Params();
    const p = (value: unknown): string => params.add(value);
    if (filter.state) where.push(`state = ${p(filter.state)}`);
    if (filter.kind) where.push(`kind = ${p(filter.kind)}`);
    if (filter.contextId) where.push(`context_id = ${p(filter.contextId)}`);
    if (filter.role) {
      const role = p(filter.role);
      const inbound = `(to_role = ${role} OR (escalated_to->>'role') = ${role})`;
      const outbound = `from_role = ${role}`;
      where.push(
        filter.direction === 'inbound'
          ? inbound
          : filter.direction === 'outbound'
            ? outbound
            : `(${inbound} OR ${outbound})`,
      );
    }
    if (filter.agentId) {
      const agent = p(filter.agentId);
      const inbound = `(to_agent_id = ${agent} OR assignee_agent_id = ${agent})`;
      const outbound = `from_agent_id = ${agent}`;
      where.push(
        filter.direction === 'inbound'
          ? inbound
          : filter.direction === 'outbound'
            ? outbound
            : `(${inbound} OR ${outbound})`,
      );
    }
    if (filter.visibleTo) {
      const observer = { agentId: p(filter.visibleTo.agentId), role: p(filter.visibleTo.role) };
      where.push(visibilitySql(observer));
    }
    if (filter.cursor) {
      where.push(
        `(created_at, id) < (${p(filter.cursor.createdAt)}::timestamptz, ${p(filter.cursor.id)}::uuid)`,
      );
    }
    const { rows } = await this.db.query<TaskRow>(
      `SELECT * FROM mesh.tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id DESC LIMIT ${p(filter.limit)}`,
      params.values,
    );
    return rows.map((row) => toTask(row));
  }

  /**
   * Applies one command to a task. `decide` is the pure domain decision on the current state (it
   * may throw: nothing is written then). A repeated idempotency key returns the first answer
   * without deciding again. Concurrent commands on one task serialise through the version guard:
   * each is decided on the state the previous one left, none is lost or applied twice.
   */
  async apply(
    id: string,
    meta: ChangeMeta,
    decide: (current: Task) => TaskDecisionOutcome,
  ): Promise<{ task: Task; changed: boolean; fingerprint?: string }> {
    let result = await this.attemptFromCache(id, meta, decide);
    if (result) this.cacheStats.hits++;
    else this.cacheStats.misses++;
    for (let attempt = 1; !result && attempt <= OPTIMISTIC_ATTEMPTS; attempt++)
      result = await this.attempt(this.db, false, id, meta, decide);
    // Contended: stop racing and queue on the row lock (each waiter then decides on the state the previous one left).
    result ??= await this.db
      .transaction((tx) => this.attempt(tx, true, id, meta, decide))
      .catch(async (error: unknown) => {
        // A twin request (same idempotency key) committed first: its answer is now visible.
        if (meta.idempotency && pgErrorCode(error) === '23505')
          return this.attempt(this.db, false, id, meta, decide);
        throw error;
      });
    if (!result) throw new AppError('conflict', `task ${id} kept changing; try again`, { details: { id } });
    // Only now is the write committed (the locked path commits when its transaction ends).
    if (result.outbox) this.committed?.(result.outbox);
    if (result.entered) this.stateChanged?.(result.task.kind, result.entered);
    return { task: result.task, changed: result.changed, fingerprint: result.fingerprint };
  }

  /** One read-decide-write; undefined when the version guard missed (someone else wrote first). */
  private async attempt(
    sql: Sql,
    lock: boolean,
    id: string,
    meta: ChangeMeta,
    decide: (current: Task) => TaskDecisionOutcome,
  ): Promise<AttemptResult | undefined> {
    const key = meta.idempotency;
    const { rows } = await sql.query<
      TaskRow & { idem_fingerprint: string | null; idem_response: Task | null }
    >(
      `SELECT t.*, k.fingerprint AS idem_fingerprint, k.response AS idem_response
         FROM mesh.tasks t
         LEFT JOIN mesh.idempotency_keys k ON k.operation = $2 AND k.actor = $3 AND k.key = $4
        WHERE t.id = $1 ${lock ? 'FOR UPDATE OF t' : ''}`,
      [id, key?.operation ?? null, key?.actor ?? null, key?.key ?? null],
      { name: lock ? 'mesh-task-read-locked' : 'mesh-task-read' },
    );
    const found = rows[0];
    if (!found) throw taskNotFound(id);
    const { idem_fingerprint: storedFingerprint, idem_response: storedResponse, ...row } = found;
    this.cache.remember(row);
    if (storedResponse && storedFingerprint !== null)
      return { task: storedResponse, changed: false, fingerprint: storedFingerprint };
    const current = toTask(row);
    const outcome = decide(current);
    if (outcome.kind === 'noop') {
      if (key) await this.rememberNoop(sql, key, current);
      return { task: current, changed: false };
    }
    return this.write(sql, row, meta, outcome, lock);
  }

  /**
   * The fast path: decide on the row this replica last wrote or read, and write guarded by its
   * version. Only a change that the guard accepts counts; anything else (no cached row, a decision
   * that refuses or is a no-op, a guard miss because another replica or request wrote first, a
   * repeated idempotency key) falls back to reading the row, so every refusal and every repeat is
   * decided on the stored state.
   */
  private async attemptFromCache(
    id: string,
    meta: ChangeMeta,
    decide: (current: Task) => TaskDecisionOutcome,
  ): Promise<AttemptResult | undefined> {
    const cached = this.cache.get(id);
    if (!cached) return undefined;
    let outcome: TaskDecisionOutcome;
    try {
      outcome = decide(toTask(cached));
    } catch {
      return undefined;
    }
    if (outcome.kind !== 'change') return undefined;
    const { next, task, outbox } = this.changeOf(cached, meta, outcome);
    const item: UpdateItem = {
      previous: cached,
      next,
      task,
      meta,
      outcome,
      outbox,
      traceId: currentTraceId(),
    };
    return this.settled(item, await this.updates.submit(item));
  }

  /** The row, task and outbox rows a decided change produces. */
  private changeOf(
    row: TaskRow,
    meta: ChangeMeta,
    outcome: Extract<TaskDecisionOutcome, { kind: 'change' }>,
  ): { next: TaskRow; task: Task; outbox: OutboxRow[] } {
    const patch = outcome.patch;
    const next: TaskRow = {
      ...row,
      state: outcome.to,
      reason: outcome.reason,
      version: row.version + 1,
      updated_at: outcome.now,
      assignee_agent_id: patch.assignee?.agentId ?? row.assignee_agent_id,
      assignee_role: patch.assignee?.role ?? row.assignee_role,
      result: patch.result !== undefined ? patch.result : row.result,
      decision: patch.decision ?? row.decision,
      escalated_to: patch.escalatedTo !== undefined ? patch.escalatedTo : row.escalated_to,
      escalated_at: patch.escalatedAt ?? row.escalated_at,
    };
    const task = toTask(next);
    const change: TaskChange = {
      task,
      change: {
        event: outcome.event,
        from: row.state,
        to: outcome.to,
        actor: meta.actor,
        reason: outcome.reason,
        occurredAt: outcome.now.toISOString(),
      },
    };
    const outbox = [outboxRow(TaskUpdated, TaskUpdated.subject, change)];
    if (outcome.deliverTo) outbox.push(outboxRow(InboxDelivery, outcome.deliverTo, task));
    return { next, task, outbox };
  }

  /**
   * N new tasks in one statement: idempotency claims first (a key already taken gates its task
   * out), then the tasks, their `create` history entries and their outbox rows. Answers, per item,
   * whether its task was written.
   */
  private async createBatch(items: CreateItem[]): Promise<boolean[]> {
    const col = <T>(f: (item: CreateItem) => T): T[] => items.map(f);
    const jsonCol = (f: (item: CreateItem) => unknown) => items.map((item) => jsonOrNull(f(item)));
    const claims = items.filter((item) => item.claim);
    const outbox = items.flatMap((item) => item.outbox.map((o) => ({ taskId: item.row.id, ...o })));
    const { rows } = await this.db.query<{ id: string }>(
      `WITH v AS (
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                              $9::jsonb[], $10::jsonb[], $11::text[], $12::text[], $13::text[], $14::timestamptz[],
                              $15::timestamptz[], $16::timestamptz[], $17::text[])
             AS v(id, kind, from_agent_id, from_role, to_role, to_agent_id, type, subject, input, details, message,
                  priority, context_id, deadline, escalate_at, created_at, trace_id)),
       claim AS (
         INSERT INTO mesh.idempotency_keys (operation, actor, key, fingerprint, task_id, response)
         SELECT * FROM unnest($18::text[], $19::text[], $20::text[], $21::text[], $22::uuid[], $23::jsonb[])
         ON CONFLICT DO NOTHING RETURNING task_id),
       t AS (
         INSERT INTO mesh.tasks (id, kind, from_agent_id, from_role, to_role, to_agent_id, type, subject, input, details, message,
                                 priority, state, context_id, deadline, escalate_at, version, created_at, updated_at)
         SELECT v.id, v.kind, v.from_agent_id, v.from_role, v.to_role, v.to_agent_id, v.type, v.subject, v.input, v.details,
                v.message, v.priority, 'submitted', v.context_id, v.deadline, v.escalate_at, 1, v.created_at, v.created_at
           FROM v
          WHERE v.id <> ALL($22::uuid[]) OR v.id IN (SELECT task_id FROM claim)
         RETURNING id),
       h AS (
         INSERT INTO mesh.task_events (task_id, event, from_state, to_state, actor, reason, trace_id, occurred_at)
         SELECT v.id, 'create', NULL, 'submitted', v.from_agent_id, NULL, v.trace_id, v.created_at FROM v JOIN t USING (id)),
       o AS (${outboxBatchInsert(24)})
       SELECT id, ${this.batchNotify(25)} FROM t`,
      [
        col((i) => i.row.id),
        col((i) => i.row.kind),
        col((i) => i.row.from_agent_id),
        col((i) => i.row.from_role),
        col((i) => i.row.to_role),
        col((i) => i.row.to_agent_id),
        col((i) => i.row.type),
        col((i) => i.row.subject),
        jsonCol((i) => i.row.input),
        jsonCol((i) => i.row.details),
        col((i) => i.row.message),
        col((i) => i.row.priority),
        col((i) => i.row.context_id),
        col((i) => i.row.deadline.toISOString()),
        col((i) => i.row.escalate_at?.toISOString() ?? null),
        col((i) => i.row.created_at.toISOString()),
        col((i) => i.traceId),
        claims.map((i) => i.claim!.operation),
        claims.map((i) => i.claim!.actor),
        claims.map((i) => i.claim!.key),
        claims.map((i) => i.claim!.fingerprint),
        claims.map((i) => i.row.id),
        claims.map((i) => JSON.stringify(i.task)),
        outboxDocument(outbox),
        ...this.batchNotifyParams(),
      ],
      { name: this.statementName('mesh-task-create') },
    );
    const written = new Set(rows.map((r) => r.id));
    return items.map((item) => written.has(item.row.id));
  }

  /**
   * N decided changes of N different tasks in one statement, each guarded by the version it was
   * decided on: the rows whose guard holds are updated and get their history entry, outbox rows
   * and idempotency record; the others are untouched and answer false (decided again on the
   * stored row). A twin's idempotency key (unique violation) fails the whole statement; then each
   * change is written alone, so only the twin misses.
   */
  private async updateBatch(items: UpdateItem[]): Promise<boolean[]> {
    if (items.length === 1) return [await this.updateOne(items[0]!)];
    try {
      return await this.updateMany(items);
    } catch (error) {
      if (pgErrorCode(error) !== '23505') throw error;
      return Promise.all(items.map((item) => this.updateOne(item)));
    }
  }

  private async updateOne(item: UpdateItem): Promise<boolean> {
    try {
      const [updated] = await this.updateMany([item]);
      return updated ?? false;
    } catch (error) {
      if (item.meta.idempotency && pgErrorCode(error) === '23505') return false;
      throw error;
    }
  }

  /**
   * Each row is found by a LATERAL lookup on the primary key and updated by its ctid, never by a
   * plain join of the batch with mesh.tasks. A named statement's generic plan is made once per
   * connection, early; while the table is small and not yet analysed the planner rightly prefers
   * a hash join over a sequential scan for such a join, and that plan stays cached while the
   * table grows (a fresh deployment until autovacuum analyses it, every benchmark run): each
   * update then read every task. The lateral lookup (its LIMIT keeps the planner from flattening
   * it back into a join) runs per batch row through the index, and the ctid match is a TID scan,
   * whatever the statistics say. The version check on `t` is what a concurrent writer trips: the
   * row is re-checked at its newest version, which no longer matches, and is left alone.
   */
  private async updateMany(items: UpdateItem[], sql: Sql = this.db): Promise<boolean[]> {
    const col = <T>(f: (item: UpdateItem) => T): T[] => items.map(f);
    const keyed = items.filter((item) => item.meta.idempotency);
    const outbox = items.flatMap((item) => item.outbox.map((o) => ({ taskId: item.next.id, ...o })));
    const { rows } = await sql.query<{ id: string }>(
      `WITH v AS (
         SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[],
                              $8::jsonb[], $9::jsonb[], $10::jsonb[], $11::timestamptz[], $12::text[], $13::text[], $14::text[], $15::text[])
             AS v(id, version, state, reason, updated_at, assignee_agent_id, assignee_role, result, decision, escalated_to,
                  escalated_at, event, from_state, actor, trace_id)),
       u AS (
         UPDATE mesh.tasks t
            SET state = v.state, reason = v.reason, version = v.version + 1, updated_at = v.updated_at,
                assignee_agent_id = v.assignee_agent_id, assignee_role = v.assignee_role, result = v.result,
                decision = v.decision, escalated_to = v.escalated_to, escalated_at = v.escalated_at
           FROM v CROSS JOIN LATERAL (
                  SELECT c.ctid AS tid, c.version FROM mesh.tasks c WHERE c.id = v.id AND c.version = v.version LIMIT 1
                ) guarded
          WHERE t.ctid = guarded.tid AND t.version = guarded.version
         RETURNING t.id),
       h AS (
         INSERT INTO mesh.task_events (task_id, event, from_state, to_state, actor, reason, trace_id, occurred_at)
         SELECT v.id, v.event, v.from_state, v.state, v.actor, v.reason, v.trace_id, v.updated_at FROM v JOIN u USING (id)),
       k AS (
         INSERT INTO mesh.idempotency_keys (operation, actor, key, fingerprint, task_id, response)
         SELECT k.operation, k.actor, k.key, k.fingerprint, k.task_id, k.response
           FROM unnest($16::text[], $17::text[], $18::text[], $19::text[], $20::uuid[], $21::jsonb[])
             AS k(operation, actor, key, fingerprint, task_id, response)
           JOIN u ON u.id = k.task_id),
       o AS (${outboxBatchInsert(22, 'u')})
       SELECT id, ${this.batchNotify(23)} FROM u`,
      [
        col((i) => i.next.id),
        col((i) => i.previous.version),
        col((i) => i.next.state),
        col((i) => i.next.reason),
        col((i) => i.next.updated_at.toISOString()),
        col((i) => i.next.assignee_agent_id),
        col((i) => i.next.assignee_role),
        col((i) => jsonOrNull(i.next.result)),
        col((i) => jsonOrNull(i.next.decision)),
        col((i) => jsonOrNull(i.next.escalated_to)),
        col((i) => i.next.escalated_at?.toISOString() ?? null),
        col((i) => i.outcome.event),
        col((i) => i.previous.state),
        col((i) => i.meta.actor),
        col((i) => i.traceId),
        keyed.map((i) => i.meta.idempotency!.operation),
        keyed.map((i) => i.meta.idempotency!.actor),
        keyed.map((i) => i.meta.idempotency!.key),
        keyed.map((i) => i.meta.idempotency!.fingerprint),
        keyed.map((i) => i.next.id),
        keyed.map((i) => JSON.stringify(i.task)),
        outboxDocument(outbox),
        ...this.batchNotifyParams(),
      ],
      { name: this.statementName('mesh-task-update') },
    );
    const written = new Set(rows.map((r) => r.id));
    return items.map((item) => written.has(item.next.id));
  }

  /** Writes a decided change guarded by `row.version`; undefined when the guard (or a twin's idempotency key) missed. */
  private async write(
    sql: Sql,
    row: TaskRow,
    meta: ChangeMeta,
    outcome: Extract<TaskDecisionOutcome, { kind: 'change' }>,
    lock: boolean,
  ): Promise<AttemptResult | undefined> {
    const { next, task, outbox } = this.changeOf(row, meta, outcome);
    const item: UpdateItem = { previous: row, next, task, meta, outcome, outbox, traceId: currentTraceId() };
    let updated: boolean | undefined;
    try {
      [updated] = await this.updateMany([item], sql);
    } catch (error) {
      // The same key written concurrently by a twin request: read again, the first answer wins.
      if (meta.idempotency && !lock && pgErrorCode(error) === '23505') return undefined;
      throw error;
    }
    return this.settled(item, updated === true);
  }

  /** Keeps the row cache in step with a guarded write's outcome. */
  private settled(item: UpdateItem, updated: boolean): AttemptResult | undefined {
    if (!updated) {
      this.cache.forget(item.next.id, item.previous.version);
      return undefined;
    }
    this.cache.remember(item.next);
    // An escalation changes the row but not its state: no transition to count.
    const entered = item.next.state !== item.previous.state ? item.next.state : undefined;
    return { task: item.task, changed: true, outbox: item.outbox, entered };
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

  lockedJob<T>(name: string, work: (tx: Sql) => Promise<T>): Promise<{ ran: boolean; result?: T }> {
    return this.db.withAdvisoryLock(`mesh-job-${name}`, work);
  }

  private async history(id: string): Promise<TaskEventRow[]> {
    const { rows } = await this.db.query<TaskEventRow>(
      `SELECT * FROM mesh.task_events WHERE task_id = $1 ORDER BY seq`,
      [id],
    );
    return rows;
  }

  /** A repeated no-op with a key also answers the same next time (its key is remembered). */
  private async rememberNoop(sql: Sql, key: IdempotencyClaim, task: Task): Promise<void> {
    await sql.query(
      `INSERT INTO mesh.idempotency_keys (operation, actor, key, fingerprint, task_id, response) VALUES ($1, $2, $3, $4, $5, $6::jsonb)
       ON CONFLICT DO NOTHING`,
      [key.operation, key.actor, key.key, key.fingerprint, task.id, JSON.stringify(task)],
    );
  }
}

/** One string per (operation, actor, key). */
function idempotencyId(k: { operation: string; actor: string; key: string }): string {
  return `${k.operation}\u0000${k.actor}\u0000${k.key}`;
}

/** A new task waiting for its batch. */
interface CreateItem {
  row: TaskRow;
  task: Task;
  outbox: OutboxRow[];
  claim: IdempotencyClaim | undefined;
  traceId: string | null;
}

/** A decided change waiting for its batch. */
interface UpdateItem {
  previous: TaskRow;
  next: TaskRow;
  task: Task;
  meta: ChangeMeta;
  outcome: Extract<TaskDecisionOutcome, { kind: 'change' }>;
  outbox: OutboxRow[];
  traceId: string | null;
}

interface AttemptResult {
  task: Task;
  changed: boolean;
  fingerprint?: string;
  /** The rows written, to hand to the eager publisher once committed. */
  outbox?: OutboxRow[];
  /** The state the task entered, when the change moved it to another (the transitions counter). */
  entered?: TaskState | undefined;
}

/** Positional parameters of one statement. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export interface OutboxRow {
  eventId: string;
  subject: string;
  payload: string;
  headers: string;
}

/**
 * An outbox row as `enqueueEvent` (libs/messaging) writes it: validated against the contract now
 * (a bad event fails the write, not the relay later), with the trace context in its headers. Built
 * here so the row joins the task's single statement, and so an inbox delivery can go to the
 * recipient's subject rather than the contract's own.
 */
function outboxRow<E extends EventDefinition>(
  event: E,
  subject: string,
  payload: EventPayload<E>,
  eventId: string = randomUUID(),
): OutboxRow {
  const body = parseOrThrow(event.schema, payload, `${event.subject} payload`);
  return {
    eventId,
    subject,
    payload: JSON.stringify(body),
    headers: JSON.stringify(injectTraceContext({})),
  };
}

/**
 * A batch's outbox rows as ONE jsonb document (an array of {task_id, event_id, subject, payload,
 * headers}, in write order), not five parameter arrays. The payloads and headers are JSON already:
 * they are spliced in as they are, where a jsonb[] parameter would make node-postgres escape every
 * quote of every payload into an array literal and Postgres parse that literal before parsing each
 * element as jsonb again (array_in was about a fifth of Postgres's CPU in the lifecycle benchmark,
 * all array parameters together; the batch statements' bind p50 went from 0.274 to 0.243 ms).
 */
function outboxDocument(rows: Array<OutboxRow & { taskId: string }>): string {
  return `[${rows
    .map(
      (r) =>
        `{"task_id":"${r.taskId}","event_id":"${r.eventId}","subject":${JSON.stringify(r.subject)},"payload":${r.payload},"headers":${r.headers}}`,
    )
    .join(',')}]`;
}

/**
 * Inserts a batch's outbox rows (param `$param`, see outboxDocument) in write order, only those of
 * tasks the gating CTE `source` wrote.
 */
function outboxBatchInsert(param: number, source = 't'): string {
  return `INSERT INTO mesh.outbox (event_id, subject, payload, headers)
          SELECT o.event_id, o.subject, o.payload, o.headers
            FROM ROWS FROM (jsonb_to_recordset($${param}::jsonb)
                   AS (task_id uuid, event_id uuid, subject text, payload jsonb, headers jsonb))
                 WITH ORDINALITY AS o(task_id, event_id, subject, payload, headers, ord)
            JOIN ${source} ON ${source}.id = o.task_id
           ORDER BY o.ord
          RETURNING seq`;
}

/** The trace this write belongs to, recorded with its history entry. */
function currentTraceId(): string | null {
  return trace.getActiveSpan()?.spanContext().traceId ?? null;
}

/** The column (or JSON path) of each party field of the visibility rule; every field needs one. */
const PARTY_COLUMNS: Record<TaskPartyField, string> = {
  'from.agentId': 'from_agent_id',
  'assignee.agentId': 'assignee_agent_id',
  'to.agentId': 'to_agent_id',
  'to.role': 'to_role',
  'escalatedTo.role': "(escalated_to->>'role')",
  'escalatedTo.userId': "(escalated_to->>'userId')",
};

/**
 * `TASK_VISIBILITY` (libs/contracts, the rule the gateway's event streams evaluate) translated
 * clause by clause into a WHERE condition; `observer` holds the placeholders of its agent id and role.
 */
export function visibilitySql(observer: { agentId: string; role: string }): string {
  const clauses = TASK_VISIBILITY.map((clause) =>
    clause
      .map((condition) =>
        'isNull' in condition
          ? `${PARTY_COLUMNS[condition.field]} IS NULL`
          : `${PARTY_COLUMNS[condition.field]} = ${observer[condition.equals]}`,
      )
      .join(' AND '),
  );
  return `(${clauses.map((c) => `(${c})`).join(' OR ')})`;
}
