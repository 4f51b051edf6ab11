import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { LocalIssuer } from '@orgmesh/auth';
import { AppError, ApplySessionEvent, CreateSession, GetSession } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { runMigrations } from '@orgmesh/migrations';
import { createLogger } from '@orgmesh/telemetry';
import {
  benchNamespace,
  benchEnv,
  progress,
  runComparison,
  runScenario,
  type BenchResult,
} from './harness.js';

/**
 * Sessions (issue 3). The service runs as its own process, as in production; this process is the
 * client. Baseline, measured in the same run: the raw SQL of one transition through `pg` (UPDATE,
 * INSERT of the transition, INSERT of the outbox row, in one transaction).
 * - apply-event throughput with 32 concurrent clients vs that baseline (target ≥ 0.5×);
 * - apply-event p99 at a fixed 500 transitions/s, open loop (target ≤ 20 ms);
 * - session create p50 (target ≤ 5 ms).
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONCURRENCY = 32;

/**
 * The service verifies every caller's token (issue 18), as in production: a local issuer's JWKS
 * served over HTTP, and one admin token for every request (verified once, then from the cache).
 */
async function serveJwks(issuer: LocalIssuer): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(issuer.jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/jwks` };
}

async function waitUntilServing(bus: MessageBus, child: ChildProcess, authorization: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sessions service exited with ${child.exitCode}`);
    try {
      await bus.request(GetSession, { id: randomUUID() }, { timeoutMs: 500, authorization });
    } catch (error) {
      if (error instanceof AppError && error.code === 'session_not_found') return;
    }
    if (Date.now() > deadline) throw new Error('sessions service did not start within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function run(): Promise<BenchResult[]> {
  const env = benchEnv();
  const ns = await benchNamespace('bsess');
  const { subjectPrefix, nameSuffix, databaseUrl } = ns;
  await runMigrations({ url: databaseUrl, service: 'sessions' });
  const issuer = await LocalIssuer.create({ issuer: 'urn:orgmesh:bench' });
  const jwks = await serveJwks(issuer);
  const authorization = `Bearer ${await issuer.sign(
    { sub: 'bench-admin', role: 'admin', scope: 'orgmesh:admin' },
    { expiresInSec: 6 * 3600 },
  )}`;
  const asAdmin = { authorization };
  const child = spawn(process.execPath, [join(root, 'services/sessions/dist/main.js')], {
    env: {
      ...process.env,
      NATS_URL: env.natsUrl,
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_SIZE: String(CONCURRENCY),
      NATS_SUBJECT_PREFIX: subjectPrefix,
      NATS_NAME_SUFFIX: nameSuffix,
      SESSIONS_HTTP_PORT: '0',
      AUTH_ISSUER: issuer.issuer,
      AUTH_AUDIENCE: issuer.audience,
      AUTH_JWKS_URL: jwks.url,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const logger = createLogger({ service: 'bench-sessions', level: 'warn' });
  const buses: MessageBus[] = [];
  const pool = new pg.Pool({ connectionString: databaseUrl, max: CONCURRENCY });
  try {
    const bus = await connectBus({
      url: env.natsUrl,
      name: 'bench-sessions',
      subjectPrefix,
      nameSuffix,
      logger,
    });
    buses.push(bus);
    await waitUntilServing(bus, child, authorization);
    progress('sessions: service up; measuring raw SQL transition vs apply-event over NATS (32 clients)');

    // One session per worker, toggled active ⇄ paused so every event is a real transition.
    const openSession = async (i: number) => {
      const created = await bus.request(
        CreateSession,
        { agentId: `bench-agent-${i}`, role: 'finance' },
        asAdmin,
      );
      await bus.request(ApplySessionEvent, { id: created.id, event: 'activate' }, asAdmin);
      return { id: created.id, paused: false };
    };

    const rawSql = {
      name: 'sessions: raw SQL transition (pg, 1 tx)',
      concurrency: CONCURRENCY,
      setupWorker: async (i: number) => ({ ...(await openSession(1000 + i)), version: 1 }),
      op: async (w: { id: string; paused: boolean; version: number }) => {
        const client = await pool.connect();
        try {
          const to = w.paused ? 'active' : 'paused';
          await client.query('BEGIN');
          await client.query(
            `UPDATE sessions.sessions SET status = $2, version = version + 1, updated_at = now(), last_transition_at = now(),
               paused_at = CASE WHEN $2 = 'paused' THEN now() ELSE NULL END WHERE id = $1 AND version = $3`,
            [w.id, to, w.version],
          );
          await client.query(
            `INSERT INTO sessions.session_transitions (session_id, from_state, to_state, event, actor, occurred_at)
             VALUES ($1, $2, $3, $4, 'bench', now())`,
            [w.id, w.paused ? 'paused' : 'active', to, w.paused ? 'resume' : 'pause'],
          );
          await client.query(
            `INSERT INTO sessions.outbox (event_id, subject, payload) VALUES ($1, 'sessions.v1.transitioned', $2)`,
            [randomUUID(), JSON.stringify({ sessionId: w.id, to })],
          );
          await client.query('COMMIT');
          w.paused = !w.paused;
          w.version++;
        } finally {
          client.release();
        }
      },
    };
    const applyEvent = {
      name: 'sessions: apply-event over NATS',
      baseline: rawSql.name,
      concurrency: CONCURRENCY,
      setupWorker: (i: number) => openSession(i),
      op: async (w: { id: string; paused: boolean }) => {
        await bus.request(
          ApplySessionEvent,
          { id: w.id, event: w.paused ? 'resume' : 'pause' },
          asAdmin,
        );
        w.paused = !w.paused;
      },
    };
    const results = await runComparison([rawSql, applyEvent] as never);

    // The comparison leaves thousands of outbox rows (both sides write one per transition) for the
    // relay to publish. The paced scenario measures steady-state latency at 500/s, not the
    // catch-up after a burst: let the relay drain first (its lag is what /metrics reports).
    const drained = await outboxDrained(pool, 30_000);
    progress(`sessions: outbox drained in ${drained} ms`);
    progress('sessions: apply-event at a fixed 500 transitions/s (open loop)');
    const paced = await runScenario({
      name: 'sessions: apply-event @ 500/s',
      concurrency: CONCURRENCY,
      ratePerSec: 500,
      setupWorker: (i: number) => openSession(2000 + i),
      op: async (w: { id: string; paused: boolean }) => {
        await bus.request(
          ApplySessionEvent,
          { id: w.id, event: w.paused ? 'resume' : 'pause' },
          asAdmin,
        );
        w.paused = !w.paused;
      },
      notes: 'target p99 ≤ 20 ms',
    });

    progress('sessions: create latency');
    let n = 0;
    const create = await runScenario({
      name: 'sessions: create (1 client)',
      concurrency: 1,
      op: async () =>
        bus.request(CreateSession, { agentId: `bench-create-${n++}`, role: 'finance' }, asAdmin),
      notes: 'target p50 ≤ 5 ms (reference system: < 150 ms)',
    });
    return [...results, paced, create];
  } finally {
    for (const bus of buses) await bus.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    child.kill('SIGTERM');
    await new Promise((resolve) =>
      child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve),
    );
    await ns.dispose();
    await new Promise((resolve) => jwks.server.close(resolve));
  }
}

/** Waits until the sessions outbox has no unpublished row; returns how long that took. */
async function outboxDrained(pool: pg.Pool, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const { rows } = await pool.query<{ pending: number }>(
      `SELECT count(*)::int AS pending FROM sessions.outbox WHERE published_at IS NULL`,
    );
    if ((rows[0]?.pending ?? 0) === 0) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`sessions outbox not drained in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
