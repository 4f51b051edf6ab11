import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppError, ApplySessionEvent, CreateSession, GetSession, SessionTransitioned } from '@orgmesh/contracts';
import {
  createIsolatedDatabase,
  expectEventually,
  startPrivateNats,
  startPrivatePostgres,
  type PrivateNats,
  type PrivatePostgres,
  type TestContext,
} from '@orgmesh/testing';
import type { SessionsApp } from '../src/sessions.app.js';
import type { Clock } from '../src/session/session.service.js';
import { clientBus, createTestContext, startTestSessions } from './sessions-harness.js';

class ManualClock implements Clock {
  constructor(private current = Date.now()) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

describe('sessions background jobs', () => {
  let ctx: TestContext;
  let app: SessionsApp;
  const clock = new ManualClock();

  beforeAll(async () => {
    ctx = await createTestContext();
    app = await startTestSessions(ctx, { clock, overrides: { SESSION_IDLE_TIMEOUT: '30m', SESSION_RETENTION_DAYS: '30' } });
  });
  afterAll(async () => {
    await app?.close();
    await ctx?.dispose();
  });

  it('the idle sweeper expires a session idle longer than SESSION_IDLE_TIMEOUT, and only that one', async () => {
    const idle = (await app.service.create({ agentId: 'idle-agent', role: 'finance' })).session;
    await app.service.applyEvent({ id: idle.id, event: 'activate', actor: 'idle-agent' });
    clock.advance(31 * 60_000);
    const fresh = (await app.service.create({ agentId: 'fresh-agent', role: 'finance' })).session;
    expect(await app.jobs.sweepOnce()).toBe(1);
    expect((await app.service.get(idle.id)).status).toBe('expired');
    expect((await app.service.get(idle.id)).expiredAt).not.toBeNull();
    expect((await app.service.get(fresh.id)).status).toBe('pending');
    const history = await app.service.listTransitions(idle.id);
    expect(history.at(-1)).toMatchObject({ from: 'active', to: 'expired', event: 'expire', actor: 'system', reason: 'idle timeout' });
  });

  it('retention deletes terminal sessions older than SESSION_RETENTION_DAYS with their history', async () => {
    const old = (await app.service.create({ agentId: 'old-agent', role: 'legal' })).session;
    await app.service.applyEvent({ id: old.id, event: 'fail', actor: 'old-agent' });
    const open = (await app.service.create({ agentId: 'open-agent', role: 'legal' })).session;
    clock.advance(31 * 86_400_000);
    const recent = (await app.service.create({ agentId: 'recent-agent', role: 'legal' })).session;
    await app.service.applyEvent({ id: recent.id, event: 'fail', actor: 'recent-agent' });
    expect(await app.jobs.retainOnce()).toBeGreaterThanOrEqual(1);
    await expect(app.service.get(old.id)).rejects.toMatchObject({ code: 'session_not_found' });
    const { rows } = await app.db.query(`SELECT count(*)::int AS n FROM sessions.session_transitions WHERE session_id = $1`, [old.id]);
    expect(rows[0]).toEqual({ n: 0 });
    expect((await app.service.get(open.id)).status).toBe('pending');
    expect((await app.service.get(recent.id)).status).toBe('failed');
  });

  it('skips a job tick while another replica holds its lock', async () => {
    // Another replica mid-tick holds the job's advisory lock in its transaction.
    const { default: pg } = await import('pg');
    const other = new pg.Client({ connectionString: ctx.databaseUrl });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['sessions-job-retention']);
      expect(await app.jobs.retainOnce()).toBeUndefined();
      // Jobs lock independently: the sweeper still runs while retention is held elsewhere.
      expect(typeof (await app.jobs.sweepOnce())).toBe('number');
      await other.query('COMMIT');
      expect(await app.jobs.retainOnce()).toBe(0);
    } finally {
      await other.end();
    }
  });
});

describe('sessions under faults', () => {
  let ctx: TestContext;
  let nats: PrivateNats;

  beforeAll(async () => {
    ctx = await createTestContext();
    nats = await startPrivateNats();
  });
  afterAll(async () => {
    await nats?.dispose();
    await ctx?.dispose();
  });

  it('events written during a NATS outage arrive after it returns, once each', async () => {
    const app = await startTestSessions({ ...ctx, natsUrl: nats.url });
    const bus = await clientBus(ctx, nats.url);
    const seen = new Map<string, number>();
    const consumer = await bus.consume(SessionTransitioned, 'outage-watch', async (payload, meta) => {
      seen.set(meta.eventId, (seen.get(meta.eventId) ?? 0) + 1);
      void payload;
    });
    try {
      await nats.stop();
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const { session } = await app.service.create({ agentId: `outage-${i}`, role: 'finance' });
        await app.service.applyEvent({ id: session.id, event: 'activate', actor: 'test' });
        ids.push(session.id);
      }
      await nats.start();
      await expectEventually(() => expect(seen.size).toBe(10), { timeoutMs: 30_000 });
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
    } finally {
      await consumer.stop();
      await bus.close();
      await app.close();
    }
  });

  it('answers unavailable quickly while Postgres is down, and recovers without a restart', async () => {
    const pg: PrivatePostgres = await startPrivatePostgres();
    const db = await createIsolatedDatabase(pg.url);
    const app = await startTestSessions({ ...ctx, databaseUrl: db.url });
    const bus = await clientBus(ctx);
    try {
      const session = await bus.request(CreateSession, { agentId: 'pg-agent', role: 'finance' });
      await pg.stop();
      const started = Date.now();
      let error: unknown;
      try {
        await bus.request(GetSession, { id: session.id }, { timeoutMs: 10_000 });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('unavailable');
      expect(Date.now() - started).toBeLessThan(5_000);
      await pg.start();
      await expectEventually(async () => {
        const after = await bus.request(ApplySessionEvent, { id: session.id, event: 'activate' });
        expect(after.status).toBe('active');
      }, { timeoutMs: 20_000, intervalMs: 250 });
    } finally {
      await bus.close();
      await app.close();
      await pg.dispose();
    }
  });
});
