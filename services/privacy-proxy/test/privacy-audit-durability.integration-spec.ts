import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LocalIssuer } from '@orgmesh/auth';
import { PrivacyRedacted } from '@orgmesh/contracts';
import { connectBus, processOnce, type ConsumerHandle, type MessageBus } from '@orgmesh/messaging';
import { Database } from '@orgmesh/persistence';
import { createLogger } from '@orgmesh/telemetry';
import {
  createTestContext,
  expectEventually,
  freePort,
  startPrivateNats,
  waitForPort,
  type PrivateNats,
  type TestContext,
} from '@orgmesh/testing';
import { AuditSpool } from '../src/audit/audit-spool.js';
import { NatsAuditSink } from '../src/audit/nats-audit-sink.js';
import { FakeUpstream } from './fake-upstream.js';
import { PROFILES, SEEDED_TEXT, SEEDED_VALUES, startHarness, type Harness } from './proxy-harness.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PROXY_MAIN = join(REPO_ROOT, 'services/privacy-proxy/dist/main.js');
const NATS_OUTAGE_MS = 30_000;
const logger = createLogger({ service: 'privacy-audit-durability-test', level: 'silent' });

/**
 * The audit consumer as a service would write it: dedupe on the event id (processed_events), so an
 * event the spool publishes again after a restart is counted once.
 */
class AuditLedger {
  readonly deliveries: string[] = [];
  private consumer: ConsumerHandle | undefined;

  constructor(
    private readonly db: Database,
    private readonly schema: string,
    /** The stream holds the other test's events too: only this tenant's are counted. */
    private readonly tenant: string,
  ) {}

  async start(bus: MessageBus, durable: string): Promise<void> {
    await this.db.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
    await this.db.query(
      `CREATE TABLE IF NOT EXISTS ${this.schema}.processed_events (consumer text, event_id text, processed_at timestamptz DEFAULT now(), PRIMARY KEY (consumer, event_id))`,
    );
    await this.db.query(
      `CREATE TABLE IF NOT EXISTS ${this.schema}.audit_counts (event_id text PRIMARY KEY, raw text)`,
    );
    this.consumer = await bus.consume(PrivacyRedacted, durable, async (payload, ctx) => {
      if (payload.tenant !== this.tenant) return;
      this.deliveries.push(ctx.eventId);
      await processOnce(this.db, this.schema, durable, ctx.eventId, async (tx) => {
        await tx.query(`INSERT INTO ${this.schema}.audit_counts (event_id, raw) VALUES ($1, $2)`, [
          payload.eventId,
          JSON.stringify(payload),
        ]);
      });
    });
  }

  async counted(): Promise<Array<{ event_id: string; raw: string }>> {
    return (
      await this.db.query<{ event_id: string; raw: string }>(
        `SELECT event_id, raw FROM ${this.schema}.audit_counts`,
      )
    ).rows;
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
  }
}

async function maskedCall(url: string, token: string): Promise<void> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: SEEDED_TEXT }] }),
  });
  expect(response.status).toBe(200);
  await response.text();
}

describe('privacy audit: nothing lost when NATS is down or the proxy is killed', () => {
  let ctx: TestContext;
  let nats: PrivateNats;
  let db: Database;
  let bus: MessageBus;
  const spoolDirs: string[] = [];

  beforeAll(async () => {
    ctx = await createTestContext();
    nats = await startPrivateNats();
    db = await Database.connect({ url: ctx.databaseUrl, schema: 'public' });
    bus = await connectBus({
      url: nats.url,
      name: 'audit-consumer',
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logger,
    });
    // A short duplicate window, so a replay after a restart reaches the consumer and its dedupe is what counts.
    await bus.ensureStream('privacy', { duplicateWindowMs: 1_000 });
  }, 60_000);

  afterAll(async () => {
    await bus?.close();
    await db?.close();
    await nats?.dispose();
    await ctx?.dispose();
    for (const dir of spoolDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('events of calls made while NATS was stopped for 30 s arrive after it returns, and a replay is counted once', async () => {
    const ledger = new AuditLedger(db, 'audit_outage', 'acme');
    await ledger.start(bus, 'audit-outage');
    const spoolDir = mkdtempSync(join(tmpdir(), 'audit-outage-'));
    spoolDirs.push(spoolDir);
    const proxyBus = await connectBus({
      url: nats.url,
      name: 'privacy-proxy',
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logger,
    });
    let sink = new NatsAuditSink(proxyBus, AuditSpool.open({ dir: spoolDir }), logger, {
      maxRetryDelayMs: 1_000,
    });
    sink.start();
    const h: Harness = await startHarness({}, { extraAudit: { emit: (event) => sink.emit(event) } });
    try {
      const token = await h.token('finance');
      await maskedCall(h.url, token);
      await expectEventually(async () => expect(await ledger.counted()).toHaveLength(1), {
        timeoutMs: 20_000,
      });

      await nats.stop();
      for (let i = 0; i < 5; i++) await maskedCall(h.url, token);
      // The outage itself is what is tested: nothing can arrive while it lasts.
      await new Promise((resolve) => setTimeout(resolve, NATS_OUTAGE_MS));
      expect(await ledger.counted().then((rows) => rows.length)).toBe(1);
      await nats.start();

      const ids = h.audit.events.map((event) => event.eventId).sort();
      expect(ids).toHaveLength(6);
      await expectEventually(
        async () => expect((await ledger.counted()).map((row) => row.event_id).sort()).toEqual(ids),
        { timeoutMs: 60_000 },
      );
      for (const row of await ledger.counted())
        for (const value of SEEDED_VALUES)
          expect({ value, leaked: row.raw.includes(value) }).toEqual({ value, leaked: false });

      // A restart past the stream's duplicate window publishes the unrotated segment again.
      await sink.stop();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const deliveredBefore = ledger.deliveries.length;
      sink = new NatsAuditSink(proxyBus, AuditSpool.open({ dir: spoolDir }), logger);
      sink.start();
      await expectEventually(
        () => expect(ledger.deliveries.length).toBeGreaterThanOrEqual(deliveredBefore + 6),
        {
          timeoutMs: 30_000,
        },
      );
      expect((await ledger.counted()).map((row) => row.event_id).sort()).toEqual(ids);
    } finally {
      await h.close();
      await sink.stop();
      await ledger.stop();
      await proxyBus.close();
    }
  }, 240_000);

  it('events spooled before a kill -9 of the proxy process arrive after it restarts', async () => {
    // The proxy runs as a real process from its build, as in production; a clean clone has none yet
    // (the e2e suites build the same way).
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT, stdio: 'ignore' });
    if (!existsSync(PROXY_MAIN)) throw new Error(`${PROXY_MAIN} is missing after the build`);
    const ledger = new AuditLedger(db, 'audit_kill', 'kill-test');
    await ledger.start(bus, 'audit-kill');
    const upstream = await FakeUpstream.start();
    const issuer = await LocalIssuer.create({ issuer: 'urn:orgmesh:test', audience: 'orgmesh' });
    const jwks: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(issuer.jwks));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const jwksPort = (jwks.address() as { port: number }).port;
    const work = mkdtempSync(join(tmpdir(), 'audit-kill-'));
    spoolDirs.push(work);
    writeFileSync(join(work, 'profiles.json'), JSON.stringify(PROFILES));
    const port = await freePort();
    const env = {
      PATH: process.env['PATH'] ?? '',
      PRIVACY_PROXY_PORT: String(port),
      PRIVACY_PROFILES_FILE: join(work, 'profiles.json'),
      PRIVACY_UPSTREAM_OPENAI_URL: upstream.openaiUrl,
      PRIVACY_HMAC_KEY: 'integration-test-hmac-key-0123456789abcdef',
      PRIVACY_AUDIT_SPOOL_DIR: join(work, 'spool'),
      AUTH_JWKS_URL: `http://127.0.0.1:${jwksPort}/jwks.json`,
      AUTH_ISSUER: issuer.issuer,
      AUTH_AUDIENCE: issuer.audience,
      NATS_URL: nats.url,
      NATS_SUBJECT_PREFIX: ctx.subjectPrefix,
      NATS_NAME_SUFFIX: ctx.nameSuffix,
      LOG_LEVEL: 'warn',
    };
    const startProxy = async (): Promise<ChildProcess> => {
      const child = spawn(process.execPath, [PROXY_MAIN], { env, stdio: ['ignore', 'ignore', 'inherit'] });
      await waitForPort(port);
      return child;
    };
    const url = `http://127.0.0.1:${port}`;
    let child = await startProxy();
    try {
      const token = await issuer.sign({
        sub: 'finance-agent',
        role: 'finance',
        tenant: 'kill-test',
        scope: 'orgmesh:agent',
      });
      await maskedCall(url, token);
      await expectEventually(async () => expect(await ledger.counted()).toHaveLength(1), {
        timeoutMs: 20_000,
      });

      // With NATS away the events can only be in the spool when the process dies.
      await nats.stop();
      for (let i = 0; i < 5; i++) await maskedCall(url, token);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      await nats.start();
      expect(await ledger.counted().then((rows) => rows.length)).toBe(1);

      child = await startProxy();
      await expectEventually(async () => expect(await ledger.counted()).toHaveLength(6), {
        timeoutMs: 60_000,
      });
      const counted = await ledger.counted();
      expect(new Set(counted.map((row) => row.event_id)).size).toBe(6);
      for (const row of counted)
        expect(JSON.parse(row.raw)).toMatchObject({ role: 'finance', agentId: 'finance-agent' });
    } finally {
      child.kill('SIGKILL');
      await ledger.stop();
      await upstream.close();
      await new Promise((resolve) => jwks.close(resolve));
    }
  }, 240_000);
});
