import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { Task, TaskState } from '@orgmesh/contracts';
import type { OutboxEvent } from '@orgmesh/messaging';
import { Database } from '@orgmesh/persistence';
import { runMigrations } from '@orgmesh/migrations';
import {
  expectEventually,
  genericPlanOnEmptyTables,
  recordingQueries,
  type RecordedQuery,
  type TestContext,
} from '@orgmesh/testing';
import type { MeshRouterApp } from '../src/mesh-router.app.js';
import { eventForReportedState, taskOutcome } from '../src/task/task.fsm.js';
import { taskCreate, taskWrite } from '../src/task/task.changes.js';
import {
  TaskRepository,
  type IdempotencyClaim,
  type NewTask,
  type TaskCreate,
  type TaskWrite,
} from '../src/task/task.repository.js';
import { LocalIssuer, createTestContext, startTestMeshRouter } from './mesh-harness.js';

/** A new task to the worker role's inbox, with its events, as TaskService settles it. */
const newTask = (contextId: string, n: number): TaskCreate =>
  taskCreate(newTaskInput(contextId, n), 'mesh.inbox.role.worker');
const newTaskInput = (contextId: string, n: number): NewTask => {
  const now = new Date();
  return {
    id: randomUUID(),
    kind: 'task',
    from: { agentId: 'finance-agent', role: 'finance' },
    to: { role: 'worker', agentId: null },
    type: 'batch-test',
    subject: `task ${n}`,
    input: { n, quote: `it's "quoted" \\ {braces}, [brackets]` },
    details: null,
    message: null,
    priority: 'normal',
    contextId,
    deadline: new Date(now.getTime() + 3_600_000),
    escalateAt: null,
    now,
  };
};

/**
 * Group commit in the task repository, against real Postgres: many writes in one statement must
 * be exactly the writes made one by one — every task, history entry, outbox row and idempotency
 * record, nothing for a write whose guard or key missed, and the misses decided again.
 */
describe('task repository group commit', () => {
  let ctx: TestContext;
  let mesh: MeshRouterApp;
  let db: Database;
  let statements: RecordedQuery[];
  let counted: Database;

  beforeAll(async () => {
    ctx = await createTestContext();
    // The router migrates the schema; its own writes are not part of these tests.
    mesh = await startTestMeshRouter(ctx, await LocalIssuer.create(), { startJobs: false });
    db = await Database.connect({ url: ctx.databaseUrl, schema: 'mesh', poolSize: 8 });
    statements = [];
    counted = recordingQueries(db, statements);
  });

  afterAll(async () => {
    await db?.close();
    await mesh?.close();
    await ctx?.dispose();
  });

  const claim = (key: string, fingerprint = 'f'): IdempotencyClaim => ({
    operation: 'send-task',
    actor: 'finance-agent',
    key,
    fingerprint,
  });

  /** The domain's decision for an agent reporting `state`, settled with its events, as TaskService makes it. */
  const report =
    (state: 'working' | 'input-required' | 'completed') =>
    (current: Task): TaskWrite => {
      const event = eventForReportedState(state);
      const outcome = taskOutcome(current.kind, current.state, event);
      if (outcome.kind === 'illegal') throw new Error(`illegal: ${current.state} → ${state}`);
      if (outcome.kind === 'noop') return { kind: 'noop' };
      return taskWrite(current, 'worker-agent', {
        kind: 'change',
        event,
        to: outcome.to,
        reason: null,
        patch: {
          assignee: current.assignee ? undefined : { agentId: 'worker-agent', role: 'worker' },
          result: state === 'completed' ? { done: true } : undefined,
        },
        now: new Date(),
      });
    };

  const historyOf = async (id: string) =>
    (
      await db.query<{ from_state: TaskState | null; to_state: TaskState }>(
        `SELECT from_state, to_state FROM mesh.task_events WHERE task_id = $1 ORDER BY seq`,
        [id],
      )
    ).rows;

  it('writes 40 concurrent creates in one statement, a twin key once, with every row and outbox entry', async () => {
    const repository = new TaskRepository(counted, { maxInFlight: 1 });
    const published: OutboxEvent[] = [];
    repository.onCommitted((rows) => published.push(...rows));
    const contextId = `batch-${randomUUID()}`;
    const twinKey = `twin-${randomUUID()}`;
    const inputs = Array.from({ length: 40 }, (_, n) => newTask(contextId, n));
    statements.length = 0;
    const results = await Promise.all(
      inputs.map((input, n) =>
        repository.create(input, n % 2 === 0 ? claim(n < 4 ? twinKey : `key-${randomUUID()}`) : undefined),
      ),
    );
    // Tasks 0 and 2 share a key: the first wins, the second answers the first's task.
    expect(results[0]!.created).toBe(true);
    expect(results[2]!.created).toBe(false);
    expect(results[2]!.task.id).toBe(results[0]!.task.id);
    expect(results.filter((r) => r.created)).toHaveLength(39);
    // Batched: far fewer statements than writes (the twin waits for the next batch, then reads the key).
    expect(statements.filter((s) => s.text.includes('unnest')).length).toBeLessThanOrEqual(3);

    const { rows: stored } = await db.query<{ id: string; input: unknown; version: number; state: string }>(
      `SELECT id, input, version, state FROM mesh.tasks WHERE context_id = $1`,
      [contextId],
    );
    expect(stored).toHaveLength(39);
    expect(stored.every((t) => t.version === 1 && t.state === 'submitted')).toBe(true);
    const first = stored.find((t) => t.id === inputs[1]!.task.id);
    expect(first?.input).toEqual(inputs[1]!.task.input);
    const ids = stored.map((t) => t.id);
    const { rows: history } = await db.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM mesh.task_events WHERE task_id = ANY($1::uuid[]) AND event = 'create'`,
      [ids],
    );
    expect(history[0]!.count).toBe(39);
    const { rows: outbox } = await db.query<{
      subject: string;
      payload: { id?: string; task?: { id: string } };
    }>(`SELECT subject, payload FROM mesh.outbox WHERE event_id = ANY($1::uuid[]) ORDER BY seq`, [
      published.map((p) => p.eventId),
    ]);
    expect(outbox).toHaveLength(78);
    expect(published).toHaveLength(78);
    // Per task: the created event, then its inbox delivery.
    for (const id of ids) {
      const mine = outbox.filter((o) => (o.payload.task?.id ?? o.payload.id) === id);
      expect(mine.map((o) => o.subject)).toEqual([
        expect.stringContaining('created'),
        'mesh.inbox.role.worker',
      ]);
    }
    const { rows: keys } = await db.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM mesh.idempotency_keys WHERE task_id = ANY($1::uuid[])`,
      [ids],
    );
    expect(keys[0]!.count).toBe(19);
  });

  it('batches updates of many tasks, keeps two changes of one task in order, and decides a stale guard again', async () => {
    const repository = new TaskRepository(counted, { maxInFlight: 1 });
    // Another replica: its writes move versions behind the first repository's cache.
    const other = new TaskRepository(db);
    const contextId = `batch-${randomUUID()}`;
    const created = await Promise.all(
      Array.from({ length: 30 }, (_, n) => repository.create(newTask(contextId, n))),
    );
    const ids = created.map((c) => c.task.id);
    // Task 0 moves on the other replica: the first's cached version 1 is stale now.
    await other.apply(ids[0]!, { actor: 'worker-agent' }, report('working'));

    statements.length = 0;
    const results = await Promise.all([
      // Task 0 is already working (moved by the other replica): a no-op once decided on the stored row.
      ...ids.map((id) =>
        repository.apply(
          id,
          {
            actor: 'worker-agent',
            idempotency: {
              operation: 'update-task',
              actor: 'worker-agent',
              key: `${id}:working`,
              fingerprint: 'w',
            },
          },
          report('working'),
        ),
      ),
      // A second change of task 1 in the same tick: it must wait for the first and apply after it.
      repository.apply(ids[1]!, { actor: 'worker-agent' }, report('completed')),
    ]);
    expect(results.slice(1, 30).every((r) => r.changed)).toBe(true);
    expect(results[0]!.changed).toBe(false);
    expect(results[30]!.task.state).toBe('completed');
    expect(statements.filter((s) => s.text.includes('unnest')).length).toBeLessThanOrEqual(4);

    expect((await historyOf(ids[1]!)).map((h) => h.to_state)).toEqual(['submitted', 'working', 'completed']);
    for (const id of ids.slice(2)) {
      expect((await historyOf(id)).map((h) => h.to_state)).toEqual(['submitted', 'working']);
    }
    expect((await historyOf(ids[0]!)).map((h) => h.to_state)).toEqual(['submitted', 'working']);
    const { rows: versions } = await db.query<{ id: string; version: number; state: string }>(
      `SELECT id, version, state FROM mesh.tasks WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    for (const row of versions) {
      expect(row.version).toBe((await historyOf(row.id)).length);
    }
    const { rows: keys } = await db.query<{ key: string; state: string }>(
      `SELECT key, response->>'state' AS state FROM mesh.idempotency_keys WHERE operation = 'update-task' AND task_id = ANY($1::uuid[])`,
      [ids],
    );
    // Keys of the 29 changes, plus task 0's no-op answer (remembered so a repeat answers the same).
    expect(keys).toHaveLength(30);
    expect(keys.every((k) => k.state === 'working')).toBe(true);
  });

  it('finds the rows of an update batch and stored answers by index, even with the generic plan made on empty, unanalysed tables', async () => {
    // The plan a pooled connection caches early, before autovacuum has analysed a growing table:
    // a plain join of the batch with mesh.tasks is a hash join over a sequential scan there, and
    // that plan then read every task on every update as the table grew.
    const repository = new TaskRepository(counted);
    const { task } = await repository.create(newTask(`plan-${randomUUID()}`, 0));
    statements.length = 0;
    await repository.apply(task.id, { actor: 'worker-agent' }, report('working'));
    const update = statements.find((s) => s.text.includes('UPDATE mesh.tasks'))?.text;
    expect(update).toBeDefined();
    const plan = await genericPlanOnEmptyTables(db, update!, {
      schema: 'mesh',
      tables: ['tasks', 'task_events', 'idempotency_keys', 'outbox'],
    });
    expect(plan).toMatch(/Index Scan using tasks_pkey/);
    expect(plan).toMatch(/Tid Scan on tasks/);
    expect(plan).not.toMatch(/Seq Scan on tasks/);

    // The batched read of stored idempotent answers: by the index too.
    statements.length = 0;
    await repository.findIdempotent('update-task', 'worker-agent', 'no-such-key');
    const read = statements.find((s) => s.text.includes('FROM mesh.idempotency_keys'))?.text;
    expect(read).toBeDefined();
    const readPlan = await genericPlanOnEmptyTables(db, read!, {
      schema: 'mesh',
      tables: ['idempotency_keys'],
    });
    expect(readPlan).toMatch(/Index Scan using idempotency_keys_pkey/);
    expect(readPlan).not.toMatch(/Seq Scan on idempotency_keys/);

    // The create statement, with a key and marks: the router's batch pool plans every batched
    // statement generically from its first execution (ADR 0025), so none may read a whole table.
    statements.length = 0;
    repository.publishedMarks.add(randomUUID());
    await repository.create(newTask(`plan-${randomUUID()}`, 1), claim(`plan-${randomUUID()}`));
    const create = statements.find((s) => s.text.includes('INSERT INTO mesh.tasks'))?.text;
    expect(create).toBeDefined();
    const createPlan = await genericPlanOnEmptyTables(db, create!, {
      schema: 'mesh',
      tables: ['tasks', 'task_events', 'idempotency_keys', 'outbox'],
    });
    expect(createPlan).toMatch(/Index Scan using outbox_event_id_key/);
    expect(createPlan).not.toMatch(/Seq Scan on (tasks|task_events|idempotency_keys|outbox)/);
  });

  it('isolates a twin key in a batch: the batch is written change by change and only the twin misses', async () => {
    const repository = new TaskRepository(counted, { maxInFlight: 1 });
    const contextId = `batch-${randomUUID()}`;
    const created = await Promise.all(
      Array.from({ length: 5 }, (_, n) => repository.create(newTask(contextId, n))),
    );
    const ids = created.map((c) => c.task.id);
    const key = `shared-${randomUUID()}`;
    // A key already used for task 0 arrives again for task 4 (a client reusing a key across tasks).
    await repository.apply(
      ids[0]!,
      {
        actor: 'worker-agent',
        idempotency: { operation: 'update-task', actor: 'worker-agent', key, fingerprint: 'w' },
      },
      report('working'),
    );
    const results = await Promise.all(
      ids.slice(1).map((id, n) =>
        repository.apply(
          id,
          {
            actor: 'worker-agent',
            ...(n === 3
              ? { idempotency: { operation: 'update-task', actor: 'worker-agent', key, fingerprint: 'w' } }
              : {}),
          },
          report('working'),
        ),
      ),
    );
    expect(results.slice(0, 3).every((r) => r.changed && r.task.state === 'working')).toBe(true);
    // The repeat of the key answers the first response (task 0), and task 4 is untouched.
    expect(results[3]!.changed).toBe(false);
    expect(results[3]!.task.id).toBe(ids[0]);
    expect((await historyOf(ids[4]!)).map((h) => h.to_state)).toEqual(['submitted']);
  });
});

/**
 * Marking eagerly published outbox rows, on a migrated schema with no router running (its relay
 * would mark the rows itself).
 */
describe('task repository: marking published outbox rows', () => {
  let ctx: TestContext;
  let db: Database;

  beforeAll(async () => {
    ctx = await createTestContext();
    await runMigrations({ url: ctx.databaseUrl, service: 'mesh' });
    db = await Database.connect({ url: ctx.databaseUrl, schema: 'mesh', poolSize: 2 });
  });

  afterAll(async () => {
    await db?.close();
    await ctx?.dispose();
  });

  it('marks the listed rows, keeps the time of a row marked first, and finds each row by its event id', async () => {
    const ids = Array.from({ length: 4 }, () => randomUUID());
    const relayMarkedAt = '2026-01-01T00:00:00.000Z';
    for (const [n, id] of ids.entries())
      await db.query(
        `INSERT INTO mesh.outbox (event_id, subject, payload, published_at) VALUES ($1, 'mesh.v1.task-updated', '{}', $2)`,
        [id, n === 1 ? relayMarkedAt : null],
      );
    const statements: RecordedQuery[] = [];
    const counted = recordingQueries(db, statements);

    // Rows 0 and 1 (1 already marked by the relay) and an id that is not in the outbox.
    await new TaskRepository(counted).markPublished([ids[0]!, ids[1]!, randomUUID()]);
    const { rows } = await db.query<{ event_id: string; published_at: Date | null }>(
      `SELECT event_id, published_at FROM mesh.outbox WHERE event_id = ANY($1::uuid[])`,
      [ids],
    );
    const at = new Map(rows.map((r) => [r.event_id, r.published_at]));
    expect(at.get(ids[0]!)).toBeInstanceOf(Date);
    expect(at.get(ids[1]!)?.toISOString()).toBe(relayMarkedAt);
    expect(at.get(ids[2]!)).toBeNull();
    expect(at.get(ids[3]!)).toBeNull();

    // By the event id index and ctid, never by the unpublished index (which holds every row not yet marked).
    const mark = statements.find((s) => s.text.includes('UPDATE mesh.outbox'))?.text;
    expect(mark).toBeDefined();
    const plan = await genericPlanOnEmptyTables(db, mark!, { schema: 'mesh', tables: ['outbox'] });
    expect(plan).toMatch(/Index Scan using outbox_event_id_key/);
    expect(plan).toMatch(/Tid Scan on outbox/);
    expect(plan).not.toMatch(/outbox_unpublished_idx|Seq Scan on outbox|BitmapAnd/);
  });

  it('marks the published rows waiting with the next batched task statement, skipping a row the relay holds', async () => {
    const ids = Array.from({ length: 3 }, () => randomUUID());
    for (const id of ids)
      await db.query(
        `INSERT INTO mesh.outbox (event_id, subject, payload) VALUES ($1, 'mesh.v1.task-updated', '{}')`,
        [id],
      );
    const statements: RecordedQuery[] = [];
    const repository = new TaskRepository(recordingQueries(db, statements));
    for (const id of ids) repository.publishedMarks.add(id);

    // The relay holds row 2 (claimed, being published) while the task is written: the statement
    // skips it instead of waiting for the relay's transaction (which here waits for the statement).
    await db.transaction(async (tx) => {
      await tx.query(`SELECT 1 FROM mesh.outbox WHERE event_id = $1 FOR UPDATE`, [ids[2]]);
      const created = repository.create(newTask(randomUUID(), 1));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('waited for the lock')), 5_000);
      });
      await expect(Promise.race([created, late]).finally(() => clearTimeout(timer))).resolves.toMatchObject({
        created: true,
      });
    });
    // Longer than the wait before a statement of their own (MARK_ALONE_AFTER_MS): the create took them.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(statements.map((s) => s.text)).toEqual([expect.stringContaining('INSERT INTO mesh.tasks')]);
    const { rows } = await db.query<{ event_id: string; published_at: Date | null }>(
      `SELECT event_id, published_at FROM mesh.outbox WHERE event_id = ANY($1::uuid[])`,
      [ids],
    );
    const at = new Map(rows.map((r) => [r.event_id, r.published_at]));
    expect(at.get(ids[0]!)).toBeInstanceOf(Date);
    expect(at.get(ids[1]!)).toBeInstanceOf(Date);
    // Left to the relay, which marks what it publishes.
    expect(at.get(ids[2]!)).toBeNull();
  });

  it('marks published rows by a statement of their own when no task statement comes', async () => {
    const id = randomUUID();
    await db.query(
      `INSERT INTO mesh.outbox (event_id, subject, payload) VALUES ($1, 'mesh.v1.task-updated', '{}')`,
      [id],
    );
    const statements: RecordedQuery[] = [];
    new TaskRepository(recordingQueries(db, statements)).publishedMarks.add(id);
    await expectEventually(async () => {
      const { rows } = await db.query<{ published_at: Date | null }>(
        `SELECT published_at FROM mesh.outbox WHERE event_id = $1`,
        [id],
      );
      expect(rows[0]?.published_at).toBeInstanceOf(Date);
    });
    expect(statements).toHaveLength(1);
  });
});
