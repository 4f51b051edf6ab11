import { trace } from '@opentelemetry/api';
import { AppError, type Task, type TaskState } from '@orgmesh/contracts';
import type { OutboxEvent } from '@orgmesh/messaging';
import { pgErrorCode, RowCache, type Database, type Sql } from '@orgmesh/persistence';
import type { TaskEventRow, TaskRow } from './task.entity.js';
import { fromTask, toTask } from './task.mapper.js';
import { taskNotFound } from './task.errors.js';
import {
  markPublishedSql,
  meshOutbox,
  TaskBatchWrites,
  type CreateItem,
  type UpdateItem,
} from './task.batch-writes.js';
import { PublishedMarks } from './published-marks.js';
import { countTasksQuery, listTasksQuery } from './task.list-sql.js';
import type {
  ChangeMeta,
  IdempotencyClaim,
  JoinedWrites,
  StoredResponse,
  TaskCreate,
  TaskListFilter,
  TaskWrite,
} from './task.repository.types.js';

export { MESH_SCHEMA } from './task.batch-writes.js';
export { visibilitySql } from './task.list-sql.js';
export type * from './task.repository.types.js';

const OPEN_STATES: TaskState[] = ['submitted', 'working', 'input-required'];
/** Optimistic attempts before an update queues on the row lock instead. */
const OPTIMISTIC_ATTEMPTS = 3;

/**
 * All SQL of the mesh router. It writes what the service settled (task.changes.ts: the task and the
 * events each write emits) and chooses nothing itself.
 *
 * Every write is ONE statement (data-modifying CTEs): the task row, its history entry, its event
 * and its inbox delivery (the outbox rows) and the idempotency record commit together, atomically,
 * in a single round trip. Updates are optimistic: read the task (with any stored idempotent answer),
 * let the domain decide, write guarded by the version read; a concurrent change makes the guard
 * miss and the command is decided again on the new state. This is the sessions pattern (row,
 * history and outbox in one transaction) with the row lock and the BEGIN/COMMIT round trips taken
 * out, because every round trip counts at a thousand task lifecycles per second.
 *
 * The statements live beside it: the batched writes in task.batch-writes.ts, the list query and the
 * visibility filter in task.list-sql.ts; the outbox rows are written by libs/messaging's OutboxWriter.
 */
export class TaskRepository {
  private committed: ((rows: OutboxEvent[]) => void) | undefined;
  private stateChanged: ((kind: string, state: string) => void) | undefined;
  /** The last row this replica wrote or read per task: the fast path of updates (see attemptFromCache). */
  private readonly cache = new RowCache<TaskRow>(10_000);
  /** Group commit of creates, of fast-path updates and of idempotency lookups (see TaskBatchWrites). */
  private readonly batch: TaskBatchWrites;
  /** The eagerly published rows waiting to be marked, mostly by the next batched task statement. */
  readonly publishedMarks: PublishedMarks;

  /** The pool of the batched statements and of the marks (`batching.db`, default `db`). */
  private readonly batchDb: Database;

  /**
   * `batching.db`: the pool the batched statements and the marks go through (the router's has
   * generic plans, ADR 0025); transactions, reads and lists use `db`. `markFailed` hears why a
   * statement marking published rows alone failed (they are published again).
   */
  constructor(
    private readonly db: Database,
    batching: { maxBatch?: number; maxInFlight?: number; db?: Database } = {},
    markFailed?: (error: unknown, rows: number) => void,
  ) {
    this.batchDb = batching.db ?? db;
    this.publishedMarks = new PublishedMarks((ids) => this.markPublished(ids), markFailed);
    this.batch = new TaskBatchWrites(
      this.batchDb,
      batching,
      () => this.committed !== undefined,
      this.publishedMarks,
    );
  }

  /**
   * Hands every committed write's outbox rows to `listener` (the eager publisher) instead of
   * waking the relay with NOTIFY; the relay then finds by polling only what the listener missed.
   */
  onCommitted(listener: (rows: OutboxEvent[]) => void): void {
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
   * Marks rows the eager publisher published, by a statement of their own, so the relay skips
   * them (see markPublishedSql); most are marked by the task statements instead (publishedMarks).
   */
  async markPublished(eventIds: string[]): Promise<void> {
    await this.batchDb.query(markPublishedSql(1), [eventIds], { name: 'mesh-outbox-mark' });
  }

  /** Wakes the relay (after an eager publish failed). */
  async wakeRelay(): Promise<void> {
    await meshOutbox.wake(this.db);
  }

  /** The stored answer of (operation, actor, key), if any. Concurrent lookups share one statement. */
  findIdempotent(operation: string, actor: string, key: string): Promise<StoredResponse | undefined> {
    return this.batch.findIdempotent(operation, actor, key);
  }

  /**
   * Stores a new task, its `create` history entry, and the events the service chose for it (the
   * task-created event and the inbox delivery).
   * With an idempotency claim, the key's row gates the whole statement: a repeat (even a
   * concurrent one) inserts nothing and gets the first task back (`created: false`). `joined`
   * writes more rows and changes of the task in the same transaction, only when the task was
   * written. The answer is the task as created (what a repeat of the key gets too).
   */
  async create(
    write: TaskCreate,
    idempotency?: IdempotencyClaim,
    joined?: JoinedWrites,
  ): Promise<{ task: Task; created: boolean; fingerprint?: string }> {
    const { task, events } = write;
    const row = fromTask(task);
    const item = { row, task, outbox: events, claim: idempotency, traceId: currentTraceId() };
    // `joined`: rows and changes that belong to the task (an approval's route and its planning
    // entries) commit with it or not at all, so the task goes alone in a transaction instead of in
    // a batch (ADR 0019).
    const created = joined
      ? await this.db.transaction((tx) => this.createJoined(tx, item, joined))
      : (await this.batch.create(item)) && { last: row, outbox: events };
    if (created) {
      this.cache.remember(created.last);
      this.committed?.(created.outbox);
      this.stateChanged?.(row.kind, row.state);
      return { task, created: true };
    }
    if (!idempotency) throw new Error('task insert wrote nothing');
    const first = await this.findIdempotent(idempotency.operation, idempotency.actor, idempotency.key);
    if (!first) throw new Error('idempotency key vanished between insert and read');
    return { task: first.response, created: false, fingerprint: first.fingerprint };
  }

  /**
   * The new task, then `joined`'s rows, then its changes in order (each guarded by the version the
   * previous one left), all in `tx`. False when the task was not written (a repeated key); a change
   * whose guard misses throws, so nothing of the task commits.
   */
  private async createJoined(
    tx: Sql,
    item: CreateItem,
    joined: JoinedWrites,
  ): Promise<{ last: TaskRow; outbox: OutboxEvent[] } | false> {
    if (!(await this.batch.createIn(tx, item))) return false;
    await joined.rows(tx);
    let last = item.row;
    const outbox = [...item.outbox];
    for (const { actor, write } of joined.changes) {
      const change = updateItem(last, { actor }, write);
      const [updated] = await this.batch.updateMany([change], tx);
      if (!updated) throw new Error('a change of a new task missed its version guard');
      last = change.next;
      outbox.push(...change.outbox);
    }
    return { last, outbox };
  }

  async get(id: string, includeHistory: boolean): Promise<Task | undefined> {
    const { rows } = await this.db.query<TaskRow>(`SELECT * FROM mesh.tasks WHERE id = $1`, [id]);
    const row = rows[0];
    if (!row) return undefined;
    return toTask(row, includeHistory ? await this.history(id) : undefined);
  }

  async list(filter: TaskListFilter): Promise<Task[]> {
    const query = listTasksQuery(filter);
    const { rows } = await this.db.query<TaskRow>(query.text, query.values);
    return rows.map((row) => toTask(row));
  }

  /** How many tasks the filter matches, whatever the page (at most TASK_COUNT_CAP). */
  async count(filter: TaskListFilter): Promise<number> {
    const query = countTasksQuery(filter);
    const { rows } = await this.db.query<{ total: number }>(query.text, query.values);
    return rows[0]?.total ?? 0;
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
    decide: (current: Task) => TaskWrite,
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
    decide: (current: Task) => TaskWrite,
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
    decide: (current: Task) => TaskWrite,
  ): Promise<AttemptResult | undefined> {
    const cached = this.cache.get(id);
    if (!cached) return undefined;
    let outcome: TaskWrite;
    try {
      outcome = decide(toTask(cached));
    } catch {
      return undefined;
    }
    if (outcome.kind !== 'change') return undefined;
    const item = updateItem(cached, meta, outcome);
    return this.settled(item, await this.batch.update(item));
  }

  /** Writes a decided change guarded by `row.version`; undefined when the guard (or a twin's idempotency key) missed. */
  private async write(
    sql: Sql,
    row: TaskRow,
    meta: ChangeMeta,
    outcome: Extract<TaskWrite, { kind: 'change' }>,
    lock: boolean,
  ): Promise<AttemptResult | undefined> {
    const item = updateItem(row, meta, outcome);
    let updated: boolean | undefined;
    try {
      [updated] = await this.batch.updateMany([item], sql);
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

interface AttemptResult {
  task: Task;
  changed: boolean;
  fingerprint?: string;
  /** The rows written, to hand to the eager publisher once committed. */
  outbox?: OutboxEvent[];
  /** The state the task entered, when the change moved it to another (the transitions counter). */
  entered?: TaskState | undefined;
}

/** A settled change of `previous`, for the batch writer: the row it becomes is the service's next task's. */
function updateItem(
  previous: TaskRow,
  meta: ChangeMeta,
  write: Extract<TaskWrite, { kind: 'change' }>,
): UpdateItem {
  return {
    previous,
    next: fromTask(write.task),
    task: write.task,
    meta,
    event: write.event,
    outbox: write.events,
    traceId: currentTraceId(),
  };
}

/** The trace this write belongs to, recorded with its history entry. */
function currentTraceId(): string | null {
  return trace.getActiveSpan()?.spanContext().traceId ?? null;
}
