import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  AppError,
  ApplySessionEvent,
  CreateSession,
  SessionTransitioned,
  type Session,
  type SessionEventName,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { Database, RetentionJob } from '@orgmesh/persistence';
import { runMigrations } from '@orgmesh/migrations';
import {
  expectEventually,
  genericPlanOnEmptyTables,
  recordingQueries,
  type RecordedQuery,
  type TestContext,
} from '@orgmesh/testing';
import { SessionRepository, SESSIONS_SCHEMA } from '../src/session/session.repository.js';
import { SessionService } from '../src/session/session.service.js';
import { sessionsRetentionTargets } from '../src/session/session.retention.js';
import type { SessionsApp } from '../src/sessions.app.js';
import { clientBus, createTestContext, expectValidHistory, startTestSessions } from './sessions-harness.js';

/** The batched transition statement of the repository (its first parameter: the session ids of the batch). */
const isTransitionBatch = (text: string) => text.trimStart().startsWith('WITH v AS');
const isRowBatchRead = (text: string) => text.includes('FROM unnest($1::uuid[]) AS q(id)');

/** Records the batched statements a Database runs: the ids each carried. */
function recordBatches(db: Database) {
  const writes: string[][] = [];
  const reads: string[][] = [];
  const original = db.query.bind(db);
  const spy = jest.spyOn(db, 'query').mockImplementation(((text: string, params?: unknown[]) => {
    if (isTransitionBatch(text)) writes.push([...(params?.[0] as string[])]);
    if (isRowBatchRead(text)) reads.push([...(params?.[0] as string[])]);
    return original(text, params);
  }) as typeof db.query);
  return { writes, reads, restore: () => spy.mockRestore() };
}

describe('sessions apply-event batching', () => {
  let ctx: TestContext;

  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => {
    await ctx?.dispose();
  });

  it('a batch whose guard misses for one session writes the others and decides only that one again', async () => {
    await runMigrations({ url: ctx.databaseUrl, service: 'sessions' });
    const db = await Database.connect({ url: ctx.databaseUrl, schema: SESSIONS_SCHEMA, poolSize: 4 });
    try {
      // Two replicas of the service on one database; each decides on the rows it has seen.
      const replicaA = new SessionService(new SessionRepository(db, { batchMax: 64, batchInFlight: 1 }));
      const replicaB = new SessionService(new SessionRepository(db));
      const [x, y, z] = await Promise.all(
        ['x', 'y', 'z'].map(
          async (name) => (await replicaA.create({ agentId: `guard-${name}`, role: 'finance' })).session,
        ),
      );
      if (!x || !y || !z) throw new Error('sessions not created');
      // Replica B moves x on: replica A's cached row of x is now stale.
      await replicaB.applyEvent({ id: x.id, event: 'activate', actor: 'replica-b' });

      const recorded = recordBatches(db);
      let results: Array<{ session: Session; applied: boolean }>;
      try {
        results = await Promise.all([
          replicaA.applyEvent({ id: x.id, event: 'fail', actor: 'replica-a' }),
          replicaA.applyEvent({ id: y.id, event: 'activate', actor: 'replica-a' }),
          replicaA.applyEvent({ id: z.id, event: 'activate', actor: 'replica-a' }),
        ]);
      } finally {
        recorded.restore();
      }

      // One statement for the three, then x alone, decided again on the row read back.
      expect(recorded.writes).toEqual([[x.id, y.id, z.id].sort(), [x.id]]);
      expect(recorded.reads).toEqual([[x.id]]);
      expect(results.map((r) => [r.session.status, r.session.version, r.applied])).toEqual([
        ['failed', 2, true],
        ['active', 1, true],
        ['active', 1, true],
      ]);
      const history = await replicaA.listTransitions(x.id);
      expect(history.map((t) => [t.from, t.to, t.actor])).toEqual([
        ['pending', 'active', 'replica-b'],
        ['active', 'failed', 'replica-a'],
      ]);
      for (const id of [y.id, z.id]) {
        expect((await replicaA.listTransitions(id)).map((t) => [t.from, t.to])).toEqual([
          ['pending', 'active'],
        ]);
      }
      // One outbox event per transition written, none for the write that missed.
      const { rows } = await db.query<{ session_id: string; n: number }>(
        `SELECT payload->>'sessionId' AS session_id, count(*)::int AS n FROM sessions.outbox
          WHERE subject = $1 GROUP BY 1`,
        [SessionTransitioned.subject],
      );
      expect(Object.fromEntries(rows.map((r) => [r.session_id, r.n]))).toEqual({
        [x.id]: 2,
        [y.id]: 1,
        [z.id]: 1,
      });
    } finally {
      await db.close();
    }
  });

  describe('two replicas under concurrent load', () => {
    let replicas: SessionsApp[];
    let bus: MessageBus;

    beforeAll(async () => {
      replicas = [await startTestSessions(ctx), await startTestSessions(ctx)];
      bus = await clientBus(ctx);
    });
    afterAll(async () => {
      await bus?.close();
      for (const app of replicas ?? []) await app.close();
    });

    it('200 concurrent apply-events over 50 sessions: valid FSM paths, contiguous versions, each event published once', async () => {
      const published = new Map<
        string,
        Array<{ eventId: string; version: number; from: string; to: string }>
      >();
      // Event id → the stream sequences it was stored at: more than one is a second publish. A
      // redelivery (an ack that came late on a loaded machine) has the same sequence and is not one.
      const deliveries = new Map<string, Set<number>>();
      const consumer = await bus.consume(SessionTransitioned, 'batching-watch', async (payload, meta) => {
        // The stream also holds the events of the other test of this file.
        if (!payload.agentId.startsWith('load-')) return;
        const seen = deliveries.get(meta.eventId) ?? new Set<number>();
        const first = seen.size === 0;
        seen.add(meta.streamSeq);
        deliveries.set(meta.eventId, seen);
        if (!first) return;
        const list = published.get(payload.sessionId) ?? [];
        list.push({ eventId: meta.eventId, version: payload.version, from: payload.from, to: payload.to });
        published.set(payload.sessionId, list);
      });
      const recorded = replicas.map((app) => recordBatches(app.db));
      try {
        const sessions = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            bus.request(CreateSession, { agentId: `load-${i}`, role: 'finance' }),
          ),
        );
        // A fixed mix of legal and (depending on the order they land in) illegal events, all at once.
        const mix: SessionEventName[] = [
          'activate',
          'pause',
          'resume',
          'pause',
          'activate',
          'resume',
          'pause',
        ];
        const requests = Array.from({ length: 200 }, (_, i) => {
          const session = sessions[i % sessions.length]!;
          return bus.request(ApplySessionEvent, {
            id: session.id,
            event: mix[(i * 3 + Math.floor(i / 50)) % mix.length]!,
            actor: 'load',
          });
        });
        const results = await Promise.allSettled(requests);
        for (const result of results) {
          if (result.status === 'rejected')
            expect((result.reason as AppError).code).toBe('session_illegal_transition');
        }
        // Every session gets an activate, so each moves at least once.
        expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(50);

        let expectedEvents = 0;
        const histories = new Map<string, Array<{ from: string; to: string }>>();
        for (const session of sessions) {
          const { items } = await expectValidHistory(bus, session.id);
          expectedEvents += items.length;
          histories.set(
            session.id,
            items.map((t) => ({ from: t.from, to: t.to })),
          );
        }
        expect(expectedEvents).toBeGreaterThanOrEqual(50);

        await expectEventually(() => expect(deliveries.size).toBe(expectedEvents), { timeoutMs: 30_000 });
        expect([...deliveries.values()].every((sequences) => sequences.size === 1)).toBe(true);
        for (const session of sessions) {
          const events = (published.get(session.id) ?? []).sort((a, b) => a.version - b.version);
          const history = histories.get(session.id) ?? [];
          // Versions 1..n, one event each, the same moves as the stored history.
          expect(events.map((e) => e.version)).toEqual(history.map((_, i) => i + 1));
          expect(events.map((e) => ({ from: e.from, to: e.to }))).toEqual(history);
        }
      } finally {
        for (const r of recorded) r.restore();
        await consumer.stop();
      }
      // The load did go through the batcher: some statement carried several sessions' transitions.
      const batchSizes = recorded.flatMap((r) => r.writes.map((ids) => ids.length));
      expect(Math.max(...batchSizes)).toBeGreaterThan(1);
    });
  });
});

describe('sessions statements and the plan cache', () => {
  let ctx: TestContext;

  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => {
    await ctx?.dispose();
  });

  it('finds the rows of a batch by index, even with the generic plan made on empty, unanalysed tables', async () => {
    await runMigrations({ url: ctx.databaseUrl, service: 'sessions' });
    const db = await Database.connect({ url: ctx.databaseUrl, schema: SESSIONS_SCHEMA, poolSize: 2 });
    try {
      const queries: RecordedQuery[] = [];
      const recorded = recordingQueries(db, queries);
      // A fresh service instance has no cached row: the event reads the row, then writes the transition.
      const { session } = await new SessionService(new SessionRepository(recorded)).create({
        agentId: 'plan',
        role: 'finance',
      });
      await new SessionService(new SessionRepository(recorded)).applyEvent({
        id: session.id,
        event: 'activate',
        actor: 'plan',
      });
      const texts = queries.map((q) => q.text);
      const tables = ['sessions', 'session_transitions', 'outbox'];
      for (const statement of [texts.find(isRowBatchRead), texts.find(isTransitionBatch)]) {
        expect(statement).toBeDefined();
        const plan = await genericPlanOnEmptyTables(db, statement!, { schema: SESSIONS_SCHEMA, tables });
        expect(plan).toMatch(/Index Scan using sessions_pkey/);
        expect(plan).not.toMatch(/Seq Scan on sessions/);
      }
    } finally {
      await db.close();
    }
  });
  it('runs the retention by index, never reading a whole table, on large analysed tables', async () => {
    await runMigrations({ url: ctx.databaseUrl, service: 'sessions' });
    const db = await Database.connect({ url: ctx.databaseUrl, schema: SESSIONS_SCHEMA, poolSize: 2 });
    try {
      // 19,000 open sessions and 1,000 terminal ones from two months ago; 24,000 idempotency
      // records, one in eight older than the seven days they are kept.
      await db.query(
        `INSERT INTO sessions.sessions (id, agent_id, role, context_id, status, version, created_at, updated_at, last_transition_at)
         SELECT gen_random_uuid(), 'retention-' || i, 'finance', 'ctx-' || i,
                CASE WHEN i <= 1000 THEN 'completed' ELSE 'active' END, 1,
                now() - interval '61 days', now(),
                CASE WHEN i <= 1000 THEN now() - interval '60 days' ELSE now() END
           FROM generate_series(1, 20000) i`,
      );
      await db.query(
        `INSERT INTO sessions.idempotency_keys (operation, key, response, created_at)
         SELECT 'create', 'k-' || i, '{}'::jsonb, now() - ((i % 8) * interval '1 day') - interval '1 hour'
           FROM generate_series(1, 24000) i`,
      );
      // The mesh follower's dedupe records: 2,000 from 9 days ago, 8,000 younger than the 8 days kept.
      await db.query(
        `INSERT INTO sessions.processed_events (consumer, event_id, processed_at)
         SELECT 'mesh-follow', 'event-' || i, CASE WHEN i <= 2000 THEN now() - interval '9 days' ELSE now() - interval '1 day' END
           FROM generate_series(1, 10000) i`,
      );
      await db.query(`ANALYZE sessions.sessions`);
      await db.query(`ANALYZE sessions.idempotency_keys`);
      await db.query(`ANALYZE sessions.processed_events`);
      const job = new RetentionJob(db, {
        lockKey: 'sessions-job-retention-plan-test',
        targets: sessionsRetentionTargets({
          sessionsMs: 30 * 86_400_000,
          idempotencyKeysMs: 7 * 86_400_000,
          processedEventsMs: 8 * 86_400_000,
        }),
        batchSize: 5_000,
      });
      // Planned with the statistics ANALYZE took, before the deletes.
      const sessionsPlan = await job.explain('sessions.sessions');
      const keysPlan = await job.explain('sessions.idempotency_keys');
      const dedupePlan = await job.explain('sessions.processed_events');
      const run = await job.runOnce();
      expect(run.deleted).toEqual({
        'sessions.sessions': 1_000,
        'sessions.idempotency_keys': 3_000,
        'sessions.processed_events': 2_000,
      });
      expect(sessionsPlan).toMatch(/sessions_terminal_last_transition_idx/);
      expect(sessionsPlan).toMatch(/Tid Scan on sessions/);
      expect(sessionsPlan).not.toMatch(/Seq Scan/);
      expect(keysPlan).toMatch(/idempotency_keys_created_idx/);
      expect(keysPlan).not.toMatch(/Seq Scan/);
      expect(dedupePlan).toMatch(/processed_events_processed_at_idx/);
      expect(dedupePlan).not.toMatch(/Seq Scan/);
      // Open and young rows stay. Counted among this test's rows only: the file's earlier tests share
      // the database, and a session of theirs may still be landing (CI once counted 19,001).
      const left = await db.query<{ sessions: number; events: number }>(
        `SELECT (SELECT count(*)::int FROM sessions.sessions WHERE agent_id LIKE 'retention-%') AS sessions,
                (SELECT count(*)::int FROM sessions.processed_events WHERE event_id LIKE 'event-%') AS events`,
      );
      expect(left.rows[0]).toEqual({ sessions: 19_000, events: 8_000 });
    } finally {
      await db.close();
    }
  });
});
