import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Database, RetentionJob } from '@orgmesh/persistence';
import { expectEventually, type TestContext } from '@orgmesh/testing';
import type { MeshRouterApp } from '../src/mesh-router.app.js';
import { meshRetentionTargets } from '../src/task/task.retention.js';
import { LocalIssuer, createTestContext, startTestMeshRouter } from './mesh-harness.js';

const DAY = 86_400_000;
const RETENTION = { tasksMs: 30 * DAY, idempotencyKeysMs: 7 * DAY, processedEventsMs: 8 * DAY };

/**
 * The mesh router's retention job against real Postgres: what it deletes and what it keeps, per
 * table; a task goes with its whole history or not at all, also when the job dies mid-batch; the
 * plan of each batch reads its index.
 */
describe('mesh retention', () => {
  let ctx: TestContext;
  let mesh: MeshRouterApp;
  let db: Database;

  beforeAll(async () => {
    ctx = await createTestContext();
    // Defaults except the retention keys under test, spelled as an operator would.
    mesh = await startTestMeshRouter(ctx, await LocalIssuer.create(), {
      startJobs: false,
      overrides: {
        MESH_TASK_RETENTION: '30d',
        MESH_IDEMPOTENCY_RETENTION: '7d',
        PROCESSED_EVENTS_RETENTION: '8d',
        MESH_RETENTION_BATCH_SIZE: '2',
      },
    });
    db = await Database.connect({ url: ctx.databaseUrl, schema: 'mesh', poolSize: 4 });
  });

  afterAll(async () => {
    await db?.close();
    await mesh?.close();
    await ctx?.dispose();
  });

  /** A task as the router stores it, last changed `ageDays` ago, with `events` history rows and an idempotency record. */
  async function seedTask(kind: 'task' | 'approval' | 'notification', state: string, ageDays: number, events = 3) {
    const id = randomUUID();
    const at = `now() - interval '${ageDays} days'`;
    await db.query(
      `INSERT INTO mesh.tasks (id, kind, from_agent_id, from_role, to_role, priority, state, context_id, deadline,
                               version, created_at, updated_at)
       VALUES ($1::uuid, $2, 'finance-agent', 'finance', 'legal', 'normal', $3, 'ctx-' || $1::text, ${at} + interval '1 hour',
               $4, ${at} - interval '1 hour', ${at})`,
      [id, kind, state, events],
    );
    await db.query(
      `INSERT INTO mesh.task_events (task_id, event, from_state, to_state, actor, occurred_at)
       SELECT $1, 'update', 'submitted', $2, 'finance-agent', ${at} FROM generate_series(1, $3::int)`,
      [id, state, events],
    );
    // Recent key: it is the task's deletion that takes it (cascade), not its own age.
    await db.query(
      `INSERT INTO mesh.idempotency_keys (operation, actor, key, fingerprint, task_id, response, created_at)
       VALUES ('create', 'finance-agent', $1::text, 'f', $1::uuid, '{}'::jsonb, now() - interval '1 day')`,
      [id],
    );
    return id;
  }

  async function rowsOf(id: string): Promise<{ task: number; events: number; keys: number }> {
    const { rows } = await db.query<{ task: number; events: number; keys: number }>(
      `SELECT (SELECT count(*)::int FROM mesh.tasks WHERE id = $1) AS task,
              (SELECT count(*)::int FROM mesh.task_events WHERE task_id = $1) AS events,
              (SELECT count(*)::int FROM mesh.idempotency_keys WHERE task_id = $1) AS keys`,
      [id],
    );
    return rows[0]!;
  }

  async function clear(): Promise<void> {
    await db.query(`DELETE FROM mesh.idempotency_keys`);
    await db.query(`DELETE FROM mesh.tasks`);
    await db.query(`DELETE FROM mesh.processed_events`);
  }

  it('deletes terminal tasks of every kind past MESH_TASK_RETENTION with their history and keys, and keeps the rest', async () => {
    await clear();
    const gone = {
      completed: await seedTask('task', 'completed', 31),
      failed: await seedTask('task', 'failed', 45, 5),
      canceled: await seedTask('task', 'canceled', 400, 1),
      rejectedApproval: await seedTask('approval', 'rejected', 31),
      completedNotification: await seedTask('notification', 'completed', 60),
    };
    const kept = {
      recentCompleted: await seedTask('task', 'completed', 29),
      // Open tasks stay, however old: the deadline job ends them first.
      oldWorking: await seedTask('task', 'working', 90),
      oldSubmittedApproval: await seedTask('approval', 'submitted', 90),
      oldInputRequired: await seedTask('task', 'input-required', 90),
    };
    // Keys of no task (a refused or repeated request): by their own age.
    await db.query(
      `INSERT INTO mesh.idempotency_keys (operation, actor, key, fingerprint, response, created_at)
       VALUES ('update', 'a', 'old-key', 'f', '{}'::jsonb, now() - interval '8 days'),
              ('update', 'a', 'young-key', 'f', '{}'::jsonb, now() - interval '6 days')`,
    );
    await db.query(
      `INSERT INTO mesh.processed_events (consumer, event_id, processed_at)
       VALUES ('c', 'old-event', now() - interval '9 days'), ('c', 'young-event', now() - interval '7 days')`,
    );

    const run = await mesh.jobs.retainOnce();

    expect(run).toMatchObject({
      ran: true,
      deleted: { 'mesh.tasks': 5, 'mesh.idempotency_keys': 1, 'mesh.processed_events': 1 },
    });
    // Batches of two: five tasks took three statements.
    expect(run!.batches).toBeGreaterThanOrEqual(3 + 1 + 1);
    for (const id of Object.values(gone)) expect(await rowsOf(id)).toEqual({ task: 0, events: 0, keys: 0 });
    expect(await rowsOf(kept.recentCompleted)).toEqual({ task: 1, events: 3, keys: 1 });
    expect(await rowsOf(kept.oldWorking)).toEqual({ task: 1, events: 3, keys: 1 });
    expect(await rowsOf(kept.oldSubmittedApproval)).toEqual({ task: 1, events: 3, keys: 1 });
    expect(await rowsOf(kept.oldInputRequired)).toEqual({ task: 1, events: 3, keys: 1 });
    const keys = await db.query<{ key: string }>(`SELECT key FROM mesh.idempotency_keys WHERE task_id IS NULL`);
    expect(keys.rows).toEqual([{ key: 'young-key' }]);
    const events = await db.query<{ event_id: string }>(`SELECT event_id FROM mesh.processed_events`);
    expect(events.rows).toEqual([{ event_id: 'young-event' }]);
    const scraped = await (await fetch(`http://127.0.0.1:${mesh.health.port}/metrics`)).text();
    expect(scraped).toMatch(/^orgmesh_retention_deleted_rows_total\{[^}]*table="mesh\.tasks"[^}]*\} 5$/m);
    expect(scraped).toMatch(/^orgmesh_retention_batch_duration_seconds_count\{[^}]*table="mesh\.tasks"[^}]*\} 3$/m);
    // A second run finds nothing more.
    expect((await mesh.jobs.retainOnce())?.deleted).toEqual({
      'mesh.tasks': 0,
      'mesh.idempotency_keys': 0,
      'mesh.processed_events': 0,
    });
  });

  it('skips the run while another replica holds the job lock', async () => {
    await clear();
    const old = await seedTask('task', 'completed', 40);
    const other = new pg.Client({ connectionString: ctx.databaseUrl });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['mesh-job-retention']);
      expect(await mesh.jobs.retainOnce()).toBeUndefined();
      expect(await rowsOf(old)).toEqual({ task: 1, events: 3, keys: 1 });
      await other.query('COMMIT');
      expect((await mesh.jobs.retainOnce())?.deleted['mesh.tasks']).toBe(1);
    } finally {
      await other.end();
    }
  });

  it('a run killed in the middle of a batch leaves that task whole, and the next run deletes it', async () => {
    await clear();
    const first = await seedTask('task', 'completed', 50);
    const blocked = await seedTask('task', 'completed', 40);
    const job = new RetentionJob(db, {
      lockKey: 'mesh-retention-kill-test',
      targets: meshRetentionTargets(RETENTION),
      batchSize: 1,
      lockTimeoutMs: 60_000,
    });
    // Another transaction holds one history row of the second task: the cascade of the second
    // batch waits on it, mid-statement, with the task row already deleted in its transaction.
    const other = new pg.Client({ connectionString: ctx.databaseUrl });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`SELECT 1 FROM mesh.task_events WHERE task_id = $1 LIMIT 1 FOR UPDATE`, [blocked]);
      const running = job.runOnce();
      running.catch(() => undefined);
      const waiting = await expectEventually(async () => {
        // pg_stat_activity is read once per transaction unless its snapshot is dropped.
        await other.query('SELECT pg_stat_clear_snapshot()');
        const { rows } = await other.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM mesh.tasks%'`,
        );
        expect(rows).toHaveLength(1);
        return rows[0]!.pid;
      });
      // The job's connection dies (its process killed, its database restarted: the same to it).
      await other.query('SELECT pg_terminate_backend($1)', [waiting]);
      await expect(running).rejects.toBeDefined();
      await other.query('ROLLBACK');
    } finally {
      await other.end();
    }
    // The first batch committed; the killed one rolled back whole: the task with all its history.
    expect(await rowsOf(first)).toEqual({ task: 0, events: 0, keys: 0 });
    expect(await rowsOf(blocked)).toEqual({ task: 1, events: 3, keys: 1 });
    const resumed = await job.runOnce();
    expect(resumed.deleted['mesh.tasks']).toBe(1);
    expect(await rowsOf(blocked)).toEqual({ task: 0, events: 0, keys: 0 });
  });

  it('gives up a batch that would wait on a row lock, instead of queueing behind it', async () => {
    await clear();
    const locked = await seedTask('task', 'completed', 40);
    const job = new RetentionJob(db, {
      lockKey: 'mesh-retention-timeout-test',
      targets: meshRetentionTargets(RETENTION),
      batchSize: 10,
      lockTimeoutMs: 200,
    });
    const other = new pg.Client({ connectionString: ctx.databaseUrl });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`SELECT 1 FROM mesh.tasks WHERE id = $1 FOR UPDATE`, [locked]);
      const run = await job.runOnce();
      expect(run).toMatchObject({ ran: true, stoppedEarly: 'lock-timeout', deleted: { 'mesh.tasks': 0 } });
      expect(await rowsOf(locked)).toEqual({ task: 1, events: 3, keys: 1 });
      await other.query('ROLLBACK');
    } finally {
      await other.end();
    }
    expect((await job.runOnce()).deleted['mesh.tasks']).toBe(1);
  });

  it('plans every batch on its index, never a sequential scan, on large analysed tables', async () => {
    await clear();
    // 50,000 tasks, one in ten terminal and old, each with two history rows; 50,000 keys and dedupe records.
    await db.query(
      `INSERT INTO mesh.tasks (id, kind, from_agent_id, from_role, to_role, priority, state, context_id, deadline,
                               version, created_at, updated_at)
       SELECT gen_random_uuid(), 'task', 'a', 'finance', 'legal', 'normal',
              CASE WHEN i % 10 = 0 THEN 'completed' WHEN i % 3 = 0 THEN 'completed' ELSE 'working' END,
              'ctx', now() + interval '1 hour', 2, now() - interval '90 days',
              CASE WHEN i % 10 = 0 THEN now() - interval '60 days' ELSE now() - (i % 20) * interval '1 day' END
         FROM generate_series(1, 50000) i`,
    );
    await db.query(
      `INSERT INTO mesh.task_events (task_id, event, to_state, actor, occurred_at)
       SELECT id, e, 'working', 'a', updated_at FROM mesh.tasks, unnest(ARRAY['create','update']) e`,
    );
    await db.query(
      `INSERT INTO mesh.idempotency_keys (operation, actor, key, fingerprint, response, created_at)
       SELECT 'create', 'a', 'k' || i, 'f', '{}'::jsonb, now() - (i % 10) * interval '1 day' FROM generate_series(1, 50000) i`,
    );
    await db.query(
      `INSERT INTO mesh.processed_events (consumer, event_id, processed_at)
       SELECT 'c', 'e' || i, now() - (i % 10) * interval '1 day' FROM generate_series(1, 50000) i`,
    );
    for (const table of ['tasks', 'task_events', 'idempotency_keys', 'processed_events'])
      await db.query(`ANALYZE mesh.${table}`);
    const job = new RetentionJob(db, { lockKey: 'mesh-retention-plan-test', targets: meshRetentionTargets(RETENTION) });
    const plans = {
      tasks: await job.explain('mesh.tasks'),
      keys: await job.explain('mesh.idempotency_keys'),
      dedupe: await job.explain('mesh.processed_events'),
    };
    expect(plans.tasks).toMatch(/tasks_terminal_updated_idx/);
    expect(plans.keys).toMatch(/idempotency_keys_created_idx/);
    expect(plans.dedupe).toMatch(/processed_events_processed_at_idx/);
    for (const plan of Object.values(plans)) {
      expect(plan).toMatch(/Tid Scan/);
      expect(plan).not.toMatch(/Seq Scan/);
    }
    // The cascade is a trigger, outside the plan: time it instead. A batch of 1000 tasks with
    // their 2000 history rows and keys by index; by a sequential scan of 100,000 history rows per
    // task it would take minutes.
    const run = await job.runOnce();
    expect(run.deleted['mesh.tasks']).toBe(5000);
    expect(run.longestBatchMs).toBeLessThan(5_000);
  });
});
