import { OutboxWriter, type OutboxEvent } from '@orgmesh/messaging';
import { pgErrorCode, WriteBatcher, type Database, type Sql } from '@orgmesh/persistence';
import type { Task, TaskHistoryEvent } from '@orgmesh/contracts';
import type { TaskRow } from './task.entity.js';
import type { PublishedMarks } from './published-marks.js';
import type { ChangeMeta, IdempotencyClaim, StoredResponse } from './task.repository.types.js';

export const MESH_SCHEMA = 'mesh';
/** The mesh's outbox (libs/messaging): its rows go in the task statements below, gated by the tasks written. */
export const meshOutbox = new OutboxWriter(MESH_SCHEMA);

const jsonOrNull = (value: unknown): string | null =>
  value === undefined || value === null ? null : JSON.stringify(value);

/**
 * Marks published the outbox rows of the event ids in parameter `$param` (a uuid[]); a row the
 * relay marked first keeps its time. Each row is found by its event id alone and updated by ctid
 * (ADR 0007): with `published_at IS NULL` in the same scan, the planner ANDed in a bitmap of the
 * whole unpublished index, dead entries and all (8 % of Postgres's CPU under the mesh benchmark).
 * A row the relay holds (it is publishing it, and marks it itself) is skipped, never waited for:
 * this runs inside task statements too (PublishedMarks).
 */
export function markPublishedSql(param: number): string {
  return `UPDATE mesh.outbox t SET published_at = now()
            FROM unnest($${param}::uuid[]) AS e(id)
            CROSS JOIN LATERAL (
                   SELECT ctid AS tid FROM mesh.outbox WHERE event_id = e.id LIMIT 1 FOR UPDATE SKIP LOCKED
                 ) found
           WHERE t.ctid = found.tid AND t.published_at IS NULL`;
}

/**
 * The task repository's group commit (see WriteBatcher): concurrent creates, fast-path updates and
 * idempotency lookups each go to Postgres as ONE statement per batch, every write with its history
 * entries, outbox rows and idempotency records (data-modifying CTEs). A batched statement also
 * marks the rows the eager publisher published meanwhile (`marks`, PublishedMarks).
 */
export class TaskBatchWrites {
  private readonly creates: WriteBatcher<CreateItem, boolean>;
  private readonly updates: WriteBatcher<UpdateItem, boolean>;
  private readonly idempotencyReads: WriteBatcher<
    { operation: string; actor: string; key: string },
    StoredResponse | undefined
  >;

  /** `listening`: whether a listener takes committed outbox rows (then no statement wakes the relay). */
  constructor(
    private readonly db: Database,
    batching: { maxBatch?: number; maxInFlight?: number },
    private readonly listening: () => boolean,
    private readonly marks: PublishedMarks,
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

  /** Queues a new task for the next create statement; true when its task was written. */
  create(item: CreateItem): Promise<boolean> {
    return this.creates.submit(item);
  }

  /**
   * A new task written alone by the same statement inside the caller's transaction `tx`, not
   * batched: for a task whose other rows (an approval's route) must commit or roll back with it.
   */
  async createIn(tx: Sql, item: CreateItem): Promise<boolean> {
    const [written] = await this.createBatch([item], tx);
    return written === true;
  }

  /** Queues a decided change for the next update statement; true when its version guard held. */
  update(item: UpdateItem): Promise<boolean> {
    return this.updates.submit(item);
  }

  /** A batch statement's relay wake-up (once per statement, param `$index`), unless a listener publishes. */
  private batchNotify(index: number): string {
    return this.listening() ? `0 AS notified` : meshOutbox.notifySql(index, 'o');
  }

  /** A batch statement's prepared name: its text differs with and without the relay wake-up. */
  private statementName(base: string): string {
    return `${base}${this.listening() ? '' : '-notify'}`;
  }

  private batchNotifyParams(): string[] {
    return this.listening() ? [] : [meshOutbox.channel];
  }

  /**
   * The published rows a task statement marks too: the waiting ones when it commits by itself
   * (`sql` is the pool), none inside a caller's transaction, which may still roll back.
   */
  private marksFor(sql: Sql): string[] {
    return sql === this.db ? this.marks.take() : [];
  }

  /** The rows a failed statement took wait again; the statement's error is thrown on. */
  private unmarked(marks: string[]): (error: unknown) => never {
    return (error) => {
      this.marks.giveBack(marks);
      throw error;
    };
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
   * N new tasks in one statement: idempotency claims first (a key already taken gates its task
   * out), then the tasks, their `create` history entries and their outbox rows. Answers, per item,
   * whether its task was written.
   */
  private async createBatch(items: CreateItem[], sql: Sql = this.db): Promise<boolean[]> {
    const col = <T>(f: (item: CreateItem) => T): T[] => items.map(f);
    const jsonCol = (f: (item: CreateItem) => unknown) => items.map((item) => jsonOrNull(f(item)));
    // Row fields that go as they are, named as the columns of `v`.
    const rowColumns = (...fields: Array<keyof TaskRow>) => fields.map((field) => col((i) => i.row[field]));
    const claims = items.filter((item) => item.claim);
    return this.writeTasks(sql, items, (item) => item.row.id, {
      name: 'mesh-task-create',
      ctes: `v AS (
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
         SELECT v.id, 'create', NULL, 'submitted', v.from_agent_id, NULL, v.trace_id, v.created_at FROM v JOIN t USING (id))`,
      written: 't',
      params: [
        ...rowColumns(
          'id',
          'kind',
          'from_agent_id',
          'from_role',
          'to_role',
          'to_agent_id',
          'type',
          'subject',
        ),
        jsonCol((i) => i.row.input),
        jsonCol((i) => i.row.details),
        ...rowColumns('message', 'priority', 'context_id'),
        col((i) => i.row.deadline.toISOString()),
        col((i) => i.row.escalate_at?.toISOString() ?? null),
        col((i) => i.row.created_at.toISOString()),
        col((i) => i.traceId),
        ...claimColumns(claims.map((i) => ({ claim: i.claim!, taskId: i.row.id, task: i.task }))),
      ],
    });
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
  async updateMany(items: UpdateItem[], sql: Sql = this.db): Promise<boolean[]> {
    const col = <T>(f: (item: UpdateItem) => T): T[] => items.map(f);
    const keyed = items.filter((item) => item.meta.idempotency);
    return this.writeTasks(sql, items, (item) => item.next.id, {
      name: 'mesh-task-update',
      ctes: `v AS (
         SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[],
                              $8::jsonb[], $9::jsonb[], $10::jsonb[], $11::timestamptz[], $12::text[], $13::text[], $14::text[], $15::text[],
                              $16::jsonb[])
             AS v(id, version, state, reason, updated_at, assignee_agent_id, assignee_role, result, decision, escalated_to,
                  escalated_at, event, from_state, actor, trace_id, input)),
       u AS (
         UPDATE mesh.tasks t
            SET state = v.state, reason = v.reason, version = v.version + 1, updated_at = v.updated_at,
                assignee_agent_id = v.assignee_agent_id, assignee_role = v.assignee_role, result = v.result,
                decision = v.decision, escalated_to = v.escalated_to, escalated_at = v.escalated_at, input = v.input
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
           FROM unnest($17::text[], $18::text[], $19::text[], $20::text[], $21::uuid[], $22::jsonb[])
             AS k(operation, actor, key, fingerprint, task_id, response)
           JOIN u ON u.id = k.task_id)`,
      written: 'u',
      params: [
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
        col((i) => i.event),
        col((i) => i.previous.state),
        col((i) => i.meta.actor),
        col((i) => i.traceId),
        // Written back as it is unless a change set it (a sender's added input, AddTaskInput).
        col((i) => jsonOrNull(i.next.input)),
        ...claimColumns(keyed.map((i) => ({ claim: i.meta.idempotency!, taskId: i.next.id, task: i.task }))),
      ],
    });
  }

  /**
   * One batched task statement: `ctes` write the tasks (the CTE named `written` returns the ids of
   * those written) from their parameters `params`. Every task statement ends alike: the outbox rows
   * of the written tasks, the published rows it marks (given back when the statement fails) and the
   * relay wake-up, their parameters numbered on after `params`. Answers, per item, whether its task
   * was written.
   */
  private async writeTasks<Item extends { outbox: OutboxEvent[] }>(
    sql: Sql,
    items: Item[],
    taskIdOf: (item: Item) => string,
    statement: { name: string; ctes: string; written: string; params: unknown[] },
  ): Promise<boolean[]> {
    const outbox = items.flatMap((item) => item.outbox.map((o) => ({ ...o, key: taskIdOf(item) })));
    const marks = this.marksFor(sql);
    const next = statement.params.length + 1;
    const written = sql.query<{ id: string }>(
      `WITH ${statement.ctes},
       o AS (${meshOutbox.insertSql(next, statement.written)}),
       m AS (${markPublishedSql(next + 1)})
       SELECT id, ${this.batchNotify(next + 2)} FROM ${statement.written}`,
      [...statement.params, meshOutbox.document(outbox), marks, ...this.batchNotifyParams()],
      { name: this.statementName(statement.name) },
    );
    const { rows } = await written.catch(this.unmarked(marks));
    const ids = new Set(rows.map((r) => r.id));
    return items.map((item) => ids.has(taskIdOf(item)));
  }
}

/**
 * The idempotency records' parameter arrays of a batch statement (create and update store them
 * alike): operation, actor, key, fingerprint, the task's id, and the answer a repeat gets.
 */
function claimColumns(records: { claim: IdempotencyClaim; taskId: string; task: Task }[]): unknown[][] {
  return [
    records.map((r) => r.claim.operation),
    records.map((r) => r.claim.actor),
    records.map((r) => r.claim.key),
    records.map((r) => r.claim.fingerprint),
    records.map((r) => r.taskId),
    records.map((r) => JSON.stringify(r.task)),
  ];
}

/** One string per (operation, actor, key). */
export function idempotencyId(k: { operation: string; actor: string; key: string }): string {
  return `${k.operation}\u0000${k.actor}\u0000${k.key}`;
}

/** A new task waiting for its batch. */
export interface CreateItem {
  row: TaskRow;
  task: Task;
  outbox: OutboxEvent[];
  claim: IdempotencyClaim | undefined;
  traceId: string | null;
}

/** A decided change waiting for its batch. */
export interface UpdateItem {
  previous: TaskRow;
  next: TaskRow;
  task: Task;
  meta: ChangeMeta;
  event: TaskHistoryEvent;
  outbox: OutboxEvent[];
  traceId: string | null;
}
