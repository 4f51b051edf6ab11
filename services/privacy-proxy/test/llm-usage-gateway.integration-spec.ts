import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import OpenAI from 'openai';
import { GetUsage, PRIVACY_CONTEXT_HEADER } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { runMigrations } from '@orgmesh/migrations';
import { Database } from '@orgmesh/persistence';
import { createLogger } from '@orgmesh/telemetry';
import { createTestContext, type TestContext } from '@orgmesh/testing';
// The real gateway, in-process against this test's NATS namespace (tests only; the proxy never imports it).
import { type GatewayApp, api, devToken, startTestGateway } from '@orgmesh/gateway/testing';
import { JoseTokenVerifier } from '../src/auth/token-verifier.js';
import { MemoryCounterStore } from '../src/governance/counter-store.js';
import { serveUsage } from '../src/governance/usage-rpc.js';
import { PostgresUsageStore } from '../src/governance/usage-store.js';
import { FileProfileSource } from '../src/profiles/profile-source.js';
import { PROFILES, startHarness, type Harness } from './proxy-harness.js';

/**
 * Issue 24: GET /v1/usage at the gateway, served by the proxy over NATS (rpc.privacy.v1.get-usage)
 * from Postgres. Model calls with gateway-issued agent tokens through the proxy (official OpenAI SDK,
 * recording fake); admins read every agent, an agent only its own calls.
 */
const silent = createLogger({ service: 'privacy-proxy-usage-gateway-test', level: 'silent' });

interface UsageBody {
  rows: Array<{
    agentId: string;
    role: string;
    model: string;
    workflowId: string;
    requests: number;
    inputTokens: number;
    outputTokens: number;
    costUsd: number;
  }>;
  totals: { requests: number; inputTokens: number; outputTokens: number; costUsd: number };
  truncated: boolean;
}

describe('GET /v1/usage', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let bus: MessageBus;
  let db: Database;
  let h: Harness;
  let finance: string;
  let sales: string;
  let admin: string;

  beforeAll(async () => {
    ctx = await createTestContext();
    await runMigrations({ url: ctx.databaseUrl, service: 'privacy-proxy' });
    gateway = await startTestGateway(ctx, { AUTH_DEV_CLIENTS: 'finance-agent:finance,sales-agent:sales' });
    db = await Database.connect({ url: ctx.databaseUrl, schema: 'privacy_proxy', poolSize: 2 });
    const usage = new PostgresUsageStore(db);
    // The proxy trusts the gateway's issuer, as deployed: model calls and the usage RPC alike.
    const verifier = JoseTokenVerifier.fromJwksUrl(`${gateway.url}/.well-known/jwks.json`, {
      issuer: gateway.identity.issuer,
      audience: gateway.identity.audience,
    });
    h = await startHarness(
      {},
      {
        verifier,
        profiles: FileProfileSource.fromObject({
          ...PROFILES,
          profiles: { ...PROFILES.profiles, sales: { mode: 'mask' } },
        }),
        governance: { usage, counters: new MemoryCounterStore(), usageFlushMs: 60_000 },
      },
    );
    bus = await connectBus({
      url: ctx.natsUrl,
      name: 'privacy-proxy',
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logger: silent,
    });
    serveUsage(bus, { usage, recorder: h.governor!.recorder, verifier });
    [finance, sales, admin] = await Promise.all([
      devToken(gateway, 'finance-agent'),
      devToken(gateway, 'sales-agent'),
      devToken(gateway, 'admin'),
    ]);
    const call = (token: string, model: string) =>
      new OpenAI({
        apiKey: token,
        baseURL: `${h.url}/v1`,
        maxRetries: 0,
        defaultHeaders: { [PRIVACY_CONTEXT_HEADER]: 'ctx-q1' },
      }).chat.completions.create({ model, messages: [{ role: 'user', content: 'Status, in one line.' }] });
    await call(finance, 'gpt-4o-mini');
    await call(finance, 'gpt-4o-mini');
    await call(finance, 'gpt-4.1');
    await call(sales, 'gpt-4o-mini');
  });

  afterAll(async () => {
    await h?.close();
    await bus?.close();
    await db?.close();
    await gateway?.close();
    await ctx?.dispose();
  });

  it('shows an admin every agent, filtered by agent, role and model', async () => {
    const all = await api<UsageBody>(gateway, 'GET', '/v1/usage', { token: admin });
    expect(all.status).toBe(200);
    expect(all.body.totals).toMatchObject({ requests: 4, inputTokens: 40, outputTokens: 80 });
    expect(new Set(all.body.rows.map((r) => r.agentId))).toEqual(new Set(['finance-agent', 'sales-agent']));
    expect(all.body.rows.every((r) => r.workflowId === 'ctx-q1')).toBe(true);

    const mini = await api<UsageBody>(gateway, 'GET', '/v1/usage?agentId=finance-agent&model=gpt-4o-mini', {
      token: admin,
    });
    expect(mini.body.rows).toEqual([
      expect.objectContaining({
        agentId: 'finance-agent',
        role: 'finance',
        model: 'gpt-4o-mini',
        requests: 2,
        inputTokens: 20,
        outputTokens: 40,
      }),
    ]);
    // gpt-4o-mini at the shipped default price: (10 × 0.15 + 20 × 0.6) µ$ ≈ 14 µ$ a call.
    expect(mini.body.totals.costUsd).toBeCloseTo(0.000028, 6);
    const byRole = await api<UsageBody>(gateway, 'GET', '/v1/usage?role=sales', { token: admin });
    expect(byRole.body.totals.requests).toBe(1);
    const limited = await api<UsageBody>(gateway, 'GET', '/v1/usage?limit=1', { token: admin });
    expect(limited.body).toMatchObject({ truncated: true });
    expect(limited.body.rows).toHaveLength(1);
  });

  it('shows an agent its own calls only, and refuses another agent with 403', async () => {
    const own = await api<UsageBody>(gateway, 'GET', '/v1/usage', { token: sales });
    expect(own.status).toBe(200);
    expect(own.body.rows.map((r) => r.agentId)).toEqual(['sales-agent']);
    const other = await api<{ code: string; detail: string }>(
      gateway,
      'GET',
      '/v1/usage?agentId=finance-agent',
      { token: sales },
    );
    expect(other.status).toBe(403);
    expect(other.body.detail).toMatch(/an agent acts as itself only/);
  });

  it('is checked again by the proxy: on the raw bus an agent token still reads only its own usage', async () => {
    const raw = await connectBus({
      url: ctx.natsUrl,
      name: 'gateway',
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logger: silent,
    });
    try {
      await expect(
        raw.request(GetUsage, { agentId: 'finance-agent', limit: 10 }, { authorization: `Bearer ${sales}` }),
      ).rejects.toMatchObject({ code: 'forbidden' });
      const own = await raw.request(GetUsage, { limit: 10 }, { authorization: `Bearer ${sales}` });
      expect(own.rows.map((r) => r.agentId)).toEqual(['sales-agent']);
      await expect(raw.request(GetUsage, { limit: 10 })).rejects.toMatchObject({ code: 'unauthenticated' });
    } finally {
      await raw.close();
    }
  });

  it('refuses a time range that ends before it starts, and hostile filter values, with 400', async () => {
    const reversed = await api(
      gateway,
      'GET',
      '/v1/usage?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z',
      { token: admin },
    );
    expect(reversed.status).toBe(400);
    const nul = await api(gateway, 'GET', `/v1/usage?model=${encodeURIComponent('gpt\u0000x')}`, {
      token: admin,
    });
    expect(nul.status).toBe(400);
    const unauthenticated = await api(gateway, 'GET', '/v1/usage');
    expect(unauthenticated.status).toBe(401);
  });
});
