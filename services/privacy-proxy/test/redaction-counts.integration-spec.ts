import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GetRedactions } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { runMigrations } from '@orgmesh/migrations';
import { Database } from '@orgmesh/persistence';
import { createLogger } from '@orgmesh/telemetry';
import { createTestContext, type TestContext } from '@orgmesh/testing';
// The real gateway, in-process against this test's NATS namespace (tests only; the proxy never imports it).
import { type GatewayApp, api, devToken, startTestGateway } from '@orgmesh/gateway/testing';
import { JoseTokenVerifier } from '../src/auth/token-verifier.js';
import { PostgresRedactionStore, RedactionRecorder } from '../src/redactions/redaction-store.js';
import { serveRedactions } from '../src/redactions/redactions-rpc.js';
import { SEEDED, startHarness, type Harness } from './proxy-harness.js';

/**
 * Issues 23/24: redaction counts per hour, role, entity type and action. Requests with gateway-issued
 * agent tokens go through the real proxy (recording fake upstream) under three profiles — finance
 * masks, manager only detects, analyst refuses SSNs — and the counts come back from Postgres over
 * NATS (rpc.privacy.v1.get-redactions) and through GET /v1/privacy/redactions.
 */
const silent = createLogger({ service: 'privacy-proxy-redactions-test', level: 'silent' });
const TEXT = `Write to ${SEEDED.email} about the SSN ${SEEDED.ssn}.`;

interface Row {
  bucket: string;
  role: string;
  entityType: string;
  masked: number;
  passed: number;
  refused: number;
}
interface RedactionsBody {
  rows: Row[];
  totals: { masked: number; passed: number; refused: number };
  bucket: string;
  truncated: boolean;
}

const pick = (rows: Row[], role: string, entityType: string) =>
  rows
    .filter((r) => r.role === role && r.entityType === entityType)
    .reduce((n, r) => ({ masked: n.masked + r.masked, passed: n.passed + r.passed, refused: n.refused + r.refused }), {
      masked: 0,
      passed: 0,
      refused: 0,
    });

describe('redaction counts', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let bus: MessageBus;
  let db: Database;
  let h: Harness;
  let recorder: RedactionRecorder;
  const tokens: Record<string, string> = {};
  const statuses: number[] = [];

  beforeAll(async () => {
    ctx = await createTestContext();
    await runMigrations({ url: ctx.databaseUrl, service: 'privacy-proxy' });
    gateway = await startTestGateway(ctx, {
      AUTH_DEV_CLIENTS:
        'finance-agent:finance,manager-agent:manager,analyst-agent:analyst,auditor:audit:viewer,u00002:person:person',
    });
    db = await Database.connect({ url: ctx.databaseUrl, schema: 'privacy_proxy', poolSize: 2 });
    const verifier = JoseTokenVerifier.fromJwksUrl(`${gateway.url}/.well-known/jwks.json`, {
      issuer: gateway.identity.issuer,
      audience: gateway.identity.audience,
    });
    // A long interval: nothing is written until a reader (or stop) flushes, so the test can see that
    // the request path writes nothing itself.
    recorder = new RedactionRecorder(new PostgresRedactionStore(db), silent, { intervalMs: 60_000 });
    recorder.start();
    h = await startHarness({}, { verifier, extraAudit: recorder });
    bus = await connectBus({
      url: ctx.natsUrl,
      name: 'privacy-proxy',
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logger: silent,
    });
    serveRedactions(bus, { redactions: recorder.store, recorder, verifier });
    for (const id of ['finance-agent', 'manager-agent', 'analyst-agent', 'auditor', 'admin', 'u00002'])
      tokens[id] = await devToken(gateway, id);
    const send = async (agent: string) => {
      const res = await fetch(`${h.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[agent]}` },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: TEXT }] }),
      });
      await res.text();
      statuses.push(res.status);
    };
    await send('finance-agent');
    await send('finance-agent');
    await send('manager-agent');
    await send('analyst-agent');
  });

  afterAll(async () => {
    await h?.close();
    await recorder?.stop();
    await bus?.close();
    await db?.close();
    await gateway?.close();
    await ctx?.dispose();
  });

  it('writes nothing on the request path, then serves the counts the audit saw, per role, entity type and action', async () => {
    // Masked, detected (let through) and masked; the analyst's SSN refuses the request.
    expect(statuses).toEqual([200, 200, 200, 422]);
    expect(h.upstream.requests.some((r) => JSON.stringify(r.body).includes(SEEDED.ssn))).toBe(true); // manager: detect
    expect((await db.query(`SELECT count(*)::int AS n FROM redaction_counts`)).rows[0]).toEqual({ n: 0 });

    const res = await api<RedactionsBody>(gateway, 'GET', '/v1/privacy/redactions', { token: tokens['admin'] });
    expect(res.status).toBe(200);
    const rows = res.body.rows;
    expect(pick(rows, 'finance', 'email')).toEqual({ masked: 2, passed: 0, refused: 0 });
    expect(pick(rows, 'finance', 'ssn')).toEqual({ masked: 2, passed: 0, refused: 0 });
    expect(pick(rows, 'manager', 'email')).toEqual({ masked: 0, passed: 1, refused: 0 });
    expect(pick(rows, 'manager', 'ssn')).toEqual({ masked: 0, passed: 1, refused: 0 });
    expect(pick(rows, 'analyst', 'ssn')).toEqual({ masked: 0, passed: 0, refused: 1 });
    // The same numbers as the audit events of those requests, summed.
    const audited = { masked: 0, passed: 0, refused: 0 };
    for (const e of h.audit.events) {
      for (const n of Object.values(e.maskedCounts)) audited.masked += n;
      for (const n of Object.values(e.passedCounts ?? {})) audited.passed += n;
      for (const n of Object.values(e.refusedCounts ?? {})) audited.refused += n;
    }
    expect(h.audit.events).toHaveLength(4);
    expect(res.body.totals).toEqual(audited);
    expect(res.body).toMatchObject({ bucket: 'hour', truncated: false });
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString();
    expect(new Set(rows.map((r) => r.bucket))).toEqual(new Set([hour]));
  });

  it('keeps counts only in Postgres: no value, placeholder or text in any stored row', async () => {
    const stored = await db.query<Record<string, unknown>>(`SELECT * FROM redaction_counts`);
    expect(stored.rows.length).toBeGreaterThan(0);
    expect(Object.keys(stored.rows[0]!).sort()).toEqual(
      ['action', 'bucket', 'count', 'entity_type', 'role', 'tenant', 'updated_at'].sort(),
    );
    const dump = JSON.stringify(stored.rows);
    for (const value of [SEEDED.email, SEEDED.ssn, 'maria', 'gonzalez', '6789', 'Write to'])
      expect({ value, stored: dump.includes(value) }).toEqual({ value, stored: false });
    expect(new Set(stored.rows.map((r) => r['action']))).toEqual(new Set(['masked', 'passed', 'refused']));
  });

  it('filters by role and entity type, and groups by day', async () => {
    const ssn = await api<RedactionsBody>(gateway, 'GET', '/v1/privacy/redactions?entityType=ssn', {
      token: tokens['admin'],
    });
    expect(new Set(ssn.body.rows.map((r) => r.entityType))).toEqual(new Set(['ssn']));
    expect(ssn.body.totals).toEqual({ masked: 2, passed: 1, refused: 1 });
    const day = await api<RedactionsBody>(gateway, 'GET', '/v1/privacy/redactions?role=finance&bucket=day', {
      token: tokens['admin'],
    });
    const midnight = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000).toISOString();
    expect(day.body.bucket).toBe('day');
    expect(day.body.rows.map((r) => [r.bucket, r.role, r.entityType, r.masked])).toEqual(
      expect.arrayContaining([
        [midnight, 'finance', 'email', 2],
        [midnight, 'finance', 'ssn', 2],
      ]),
    );
    expect(new Set(day.body.rows.map((r) => r.role))).toEqual(new Set(['finance']));
  });

  it('shows a viewer every role, an agent its own role only, and refuses a person', async () => {
    const viewer = await api<RedactionsBody>(gateway, 'GET', '/v1/privacy/redactions', { token: tokens['auditor'] });
    expect(viewer.status).toBe(200);
    expect(new Set(viewer.body.rows.map((r) => r.role))).toEqual(new Set(['finance', 'manager', 'analyst']));
    const own = await api<RedactionsBody>(gateway, 'GET', '/v1/privacy/redactions', {
      token: tokens['manager-agent'],
    });
    expect(own.status).toBe(200);
    expect(new Set(own.body.rows.map((r) => r.role))).toEqual(new Set(['manager']));
    const other = await api<{ code: string; detail: string }>(gateway, 'GET', '/v1/privacy/redactions?role=finance', {
      token: tokens['manager-agent'],
    });
    expect(other.status).toBe(403);
    expect(other.headers.get('content-type')).toContain('application/problem+json');
    const person = await api(gateway, 'GET', '/v1/privacy/redactions', { token: tokens['u00002'] });
    expect(person.status).toBe(403);
  });

  it('is checked again by the proxy: on the raw bus an agent token reads its own role only', async () => {
    const raw = await connectBus({
      url: ctx.natsUrl,
      name: 'gateway',
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logger: silent,
    });
    try {
      const agent = { authorization: `Bearer ${tokens['manager-agent']}` };
      await expect(raw.request(GetRedactions, { role: 'finance' }, agent)).rejects.toMatchObject({
        code: 'forbidden',
      });
      const own = await raw.request(GetRedactions, {}, agent);
      expect(new Set(own.rows.map((r) => r.role))).toEqual(new Set(['manager']));
      await expect(
        raw.request(GetRedactions, {}, { authorization: `Bearer ${tokens['u00002']}` }),
      ).rejects.toMatchObject({ code: 'forbidden' });
      await expect(raw.request(GetRedactions, {})).rejects.toMatchObject({ code: 'unauthenticated' });
    } finally {
      await raw.close();
    }
  });

  it('refuses bad filters with 400 problem+json', async () => {
    for (const query of [
      'bucket=week',
      'from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z',
      'from=yesterday',
      `entityType=${encodeURIComponent('ssn\u0000x')}`,
      'limit=0',
    ]) {
      const res = await api<{ title: string; code: string }>(gateway, 'GET', `/v1/privacy/redactions?${query}`, {
        token: tokens['admin'],
      });
      expect({ query, status: res.status, type: res.headers.get('content-type') }).toEqual({
        query,
        status: 400,
        type: expect.stringContaining('application/problem+json'),
      });
      expect(res.body.code).toBe('validation_failed');
    }
    expect((await api(gateway, 'GET', '/v1/privacy/redactions')).status).toBe(401);
  });
});
