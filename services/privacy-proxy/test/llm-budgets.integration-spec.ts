import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import pg from 'pg';
import {
  LoadRegistry,
  PrivacyBudgetWarning,
  type LlmBudget,
  type PrivacyBudgetWarningPayload,
  type RegistrySourceFile,
} from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { runMigrations } from '@orgmesh/migrations';
import { Database } from '@orgmesh/persistence';
import { createLogger } from '@orgmesh/telemetry';
import {
  createIsolatedDatabase,
  createTestContext,
  expectEventually,
  type TestContext,
} from '@orgmesh/testing';
// The real registry service, in-process against this test's database and NATS namespace: the proxy
// reads the role profiles (and their llm section) over NATS exactly as in production (tests only).
import { type RegistryApp, startTestRegistry } from '@orgmesh/registry/testing';
import { PostgresCounterStore } from '../src/governance/counter-store.js';
import type { GovernorOptions } from '../src/governance/governor.js';
import { PostgresUsageStore } from '../src/governance/usage-store.js';
import { budgetWarningPublisher } from '../src/governance/warnings.js';
import { RegistryProfileSource } from '../src/profiles/registry-profile-source.js';
import { NatsRegistryReader } from '../src/profiles/registry-reader.js';
import { startHarness, type Harness } from './proxy-harness.js';

/**
 * Issue 24, budgets, rate limits and model policy, declared in the registry's role profiles and
 * enforced by the proxy before the provider: the official SDKs through two proxy replicas sharing one
 * Postgres counter store, to the recording fake (each call reports 10 + 20 = 30 tokens).
 */
const silent = createLogger({ service: 'privacy-proxy-budgets-test', level: 'silent' });
const DAY = 86_400_000;

const roles = `roles:
  - { id: finance, display_name: Finance, description: Budgets. }
  - { id: sales, display_name: Sales, description: Customers. }
  - { id: ops, display_name: Ops, description: Operations. }
  - { id: engineering, display_name: Engineering, description: Builds. }
  - { id: hr, display_name: HR, description: People. }
  - { id: support, display_name: Support, description: Customers. }
  - { id: data, display_name: Data, description: Analytics. }
`;

const profile = (id: string, providers: string, llm: string) => `id: ${id}
role: ${id}
providers:
${providers}
privacy:
  mode: mask
llm:
${llm}
`;

const files = (financeTokens = 100): RegistrySourceFile[] => [
  { path: 'roles.yaml', content: roles },
  {
    path: 'profiles/finance.yaml',
    content: profile(
      'finance',
      `  - { name: openai, models: [gpt-4o-mini] }\n  - { name: anthropic, models: [claude-haiku-4-5] }`,
      `  budgets:\n    - { name: agent-daily-tokens, per: agent, tokens: ${financeTokens}, window: day, reset: calendar }`,
    ),
  },
  {
    path: 'profiles/sales.yaml',
    content: profile(
      'sales',
      `  - { name: openai, models: [] }`,
      `  budgets:\n    - { name: sales-daily-tokens, per: role, tokens: 200, window: day, reset: calendar, warn_at: 0.5 }`,
    ),
  },
  {
    path: 'profiles/ops.yaml',
    content: profile(
      'ops',
      `  - { name: openai, models: [] }`,
      `  rate_limits:\n    - { per: agent, requests_per_minute: 2 }`,
    ),
  },
  {
    path: 'profiles/engineering.yaml',
    content: profile(
      'engineering',
      `  - { name: openai, models: [] }`,
      `  budgets:\n    - { name: eng-monthly-cost, per: role, cost_usd: 5, window: month, reset: rolling }`,
    ),
  },
  {
    path: 'profiles/hr.yaml',
    content: profile(
      'hr',
      `  - { name: openai, models: [] }`,
      `  budgets:\n    - { name: hr-daily-cost, per: agent, cost_usd: 0.00005, window: day, reset: rolling }`,
    ),
  },
  {
    path: 'profiles/support.yaml',
    content: profile(
      'support',
      `  - { name: openai, models: [] }`,
      `  budgets:\n    - { name: support-daily-tokens, per: role, tokens: 1000000, window: day, reset: calendar }\n  on_store_unavailable: allow`,
    ),
  },
  {
    path: 'profiles/data.yaml',
    content: profile(
      'data',
      `  - { name: openai, models: [] }`,
      `  rate_limits:\n    - { per: role, tokens_per_minute: 50 }`,
    ),
  },
];

const messages = [{ role: 'user' as const, content: 'Status of the quarter, in one line.' }];

describe('LLM budgets, rate limits and model policy at the proxy', () => {
  let ctx: TestContext;
  let registry: RegistryApp | undefined;
  let admin: MessageBus;
  let proxyBus: MessageBus;
  const dbs: Database[] = [];
  const sources: RegistryProfileSource[] = [];
  const harnesses: Harness[] = [];
  let a: Harness;
  let b: Harness;
  /** Shared clock of both replicas: real time plus an offset the reset test moves to the next day. */
  let offset = 0;
  const now = () => Date.now() + offset;
  const warnings: PrivacyBudgetWarningPayload[] = [];
  const published: PrivacyBudgetWarningPayload[] = [];
  let publishWarning: (warning: PrivacyBudgetWarningPayload) => void = () => undefined;

  /**
   * A proxy replica on the shared counters. Only the fail-closed test wants a store that is judged
   * down quickly (its own staleAfterMs and a 1 s statement timeout); the others get timeouts a loaded
   * CI machine cannot trip (a sync there once took over the default 3 s and a call was refused 503).
   */
  async function replica(
    url: string,
    governance: Partial<GovernorOptions> = {},
    { statementTimeoutMs = 10_000 }: { statementTimeoutMs?: number } = {},
  ): Promise<Harness> {
    const db = await Database.connect({
      url,
      schema: 'privacy_proxy',
      poolSize: 2,
      connectTimeoutMs: 10_000,
      statementTimeoutMs,
    });
    dbs.push(db);
    const source = new RegistryProfileSource(new NatsRegistryReader(proxyBus, 2_000), silent, {
      ttlMs: 600_000,
    });
    source.start();
    sources.push(source);
    const harness = await startHarness(
      {},
      {
        profiles: source,
        governance: {
          counters: new PostgresCounterStore(db),
          usage: new PostgresUsageStore(db),
          syncIntervalMs: 50,
          staleAfterMs: 30_000,
          now,
          // The replica's own record, and what main.ts does with a warning: publish it on JetStream.
          onWarning: (warning) => {
            warnings.push(warning);
            publishWarning(warning);
          },
          ...governance,
        },
      },
    );
    harnesses.push(harness);
    return harness;
  }

  beforeAll(async () => {
    ctx = await createTestContext();
    await runMigrations({ url: ctx.databaseUrl, service: 'privacy-proxy' });
    registry = await startTestRegistry(ctx, { overrides: { REGISTRY_DIR: '' } });
    const bus = (name: string) =>
      connectBus({
        url: ctx.natsUrl,
        name,
        subjectPrefix: ctx.subjectPrefix,
        nameSuffix: ctx.nameSuffix,
        logger: silent,
      });
    admin = await bus('registry-admin');
    await admin.request(LoadRegistry, { files: files() });
    proxyBus = await bus('privacy-proxy');
    await proxyBus.ensureStream('privacy');
    publishWarning = budgetWarningPublisher(proxyBus, silent);
    // A consumer of the PRIVACY stream (what a notifier or the console would run).
    await admin.consume(PrivacyBudgetWarning, 'budget-warnings-test', async (payload) => {
      published.push(payload);
    });
    a = await replica(ctx.databaseUrl);
    b = await replica(ctx.databaseUrl);
  });

  afterAll(async () => {
    for (const h of harnesses) await h.close();
    for (const s of sources) s.stop();
    for (const db of dbs) await db.close().catch(() => undefined);
    await proxyBus?.close();
    await admin?.close();
    await registry?.close();
    await ctx?.dispose();
  });

  const openai = async (h: Harness, role: string, sub: string, maxRetries = 0) =>
    new OpenAI({ apiKey: await h.token(role, { sub }), baseURL: `${h.url}/v1`, maxRetries });
  const anthropic = async (h: Harness, role: string, sub: string, maxRetries = 0) =>
    new Anthropic({ apiKey: await h.token(role, { sub }), baseURL: h.url, maxRetries });
  const chat = async (h: Harness, role: string, sub: string) =>
    (await openai(h, role, sub)).chat.completions.create({ model: 'gpt-4o-mini', messages });
  /** Rate limits count calendar minutes: start a test's calls with at least 3 s of the minute left. */
  // The per-minute counters are per UTC minute: a test that counts within one waits for a fresh
  // minute unless 20 s are left (3 s were not enough on a loaded CI machine: its two calls and the
  // sync crossed into the next minute, whose count starts again, and the third call passed).
  const sameMinute = async () => {
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 20_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
  };
  /**
   * What the sync loop does every 50 ms here, done now on both replicas (write, then read the other's):
   * the shared counters in Postgres, without the test depending on the machine's scheduling.
   */
  const settle = async () => {
    for (let i = 0; i < 2; i++) await Promise.all([a, b].map((h) => h.governor!.ledger.syncNow()));
  };
  const budgetRefusals = async (h: Harness) =>
    Number(
      /^orgmesh_privacy_proxy_llm_refusals_total\{reason="budget"[^}]*\} (\d+)/m.exec(
        await (await fetch(`${h.url}/metrics`)).text(),
      )?.[1],
    );

  it('refuses the call that finds the agent budget spent with 429 in both providers shapes, before the provider, and reopens it the next day', async () => {
    // 100 tokens a day; each call uses 30: calls at 0, 30, 60 and 90 are admitted, the fifth is refused.
    for (let i = 0; i < 4; i++) await chat(a, 'finance', 'finance-capped');
    const upstreamBefore = a.upstream.requests.length;
    const refusalsBefore = await budgetRefusals(a);

    // The OpenAI SDK with its default retries: told not to retry (x-should-retry: false), it asks once.
    const client = await openai(a, 'finance', 'finance-capped', 2);
    const error = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const openaiError = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(openaiError.status).toBe(429);
    expect(openaiError.message).toMatch(
      /LLM budget "agent-daily-tokens" of agent finance-capped is exhausted: 100 tokens per calendar day/,
    );
    expect(openaiError.headers.get('x-should-retry')).toBe('false');
    expect(Number(openaiError.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(openaiError.error).toMatchObject({
      type: 'rate_limit_error',
      code: 'rate_limited',
      rule: 'budgets.agent-daily-tokens',
      used: 120,
      limit: 100,
    });
    expect(await budgetRefusals(a)).toBe(refusalsBefore + 1);

    const claude = await anthropic(a, 'finance', 'finance-capped');
    const anthropicError = await claude.messages
      .create({ model: 'claude-haiku-4-5', max_tokens: 64, messages })
      .catch((e: unknown) => e);
    expect(anthropicError).toBeInstanceOf(Anthropic.RateLimitError);
    // Anthropic's own shape: {type: "error", error: {type: "rate_limit_error", message}}, which the SDK shows whole.
    expect((anthropicError as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({
      type: 'error',
      error: {
        type: 'rate_limit_error',
        message: expect.stringMatching(
          /LLM budget "agent-daily-tokens" of agent finance-capped is exhausted/,
        ),
      },
    });
    expect((anthropicError as Error).message).toContain('is exhausted: 100 tokens per calendar day used up');
    // The other replica knows the same budget (within a sync interval).
    await settle();
    await expect(chat(b, 'finance', 'finance-capped')).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    // The fake's record: none of the refused calls reached the provider.
    expect(a.upstream.requests.length).toBe(upstreamBefore);
    expect(
      b.upstream.requests.filter((r) => r.json?.['messages'] && r.headers['authorization']),
    ).toHaveLength(0);

    // Another agent of the role has its own budget.
    await expect(chat(a, 'finance', 'finance-other')).resolves.toBeDefined();

    // The next calendar day (UTC) the budget reopens, on both replicas.
    offset += DAY;
    try {
      await expect(chat(a, 'finance', 'finance-capped')).resolves.toBeDefined();
      // Until a's next sync, b sees that call's reservation (its estimate), not yet its 30 tokens.
      await settle();
      await expect(chat(b, 'finance', 'finance-capped')).resolves.toBeDefined();
    } finally {
      offset -= DAY;
    }
  });

  it('applies a budget the registry raises within a second on both replicas, without a restart', async () => {
    // finance-capped has spent today's 100 tokens (first test).
    await expect(chat(a, 'finance', 'finance-capped')).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    const published = Date.now();
    await admin.request(LoadRegistry, { files: files(1_000) });
    await expectEventually(() => expect(chat(a, 'finance', 'finance-capped')).resolves.toBeDefined(), {
      timeoutMs: 1_000,
      intervalMs: 50,
    });
    await expectEventually(() => expect(chat(b, 'finance', 'finance-capped')).resolves.toBeDefined(), {
      timeoutMs: 1_000,
      intervalMs: 50,
    });
    expect(Date.now() - published).toBeLessThan(2_000);
    await admin.request(LoadRegistry, { files: files() });
  });

  it('shares a role budget between two replicas through Postgres, and one warning crosses the threshold once', async () => {
    // 200 tokens a day for the whole role, 30 a call: seven calls are admitted across both replicas.
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) {
      const replicaOf = i % 2 === 0 ? a : b;
      outcomes.push(
        await chat(replicaOf, 'sales', `sales-agent-${i}`).then(
          () => 'ok',
          (e: unknown) => (e instanceof OpenAI.RateLimitError ? '429' : 'other'),
        ),
      );
      await settle();
    }
    expect(outcomes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', '429', '429', '429']);
    const pool = new pg.Pool({ connectionString: ctx.databaseUrl, max: 1 });
    const rows = await pool
      .query<{ tokens: string }>(
        `SELECT sum(tokens)::text AS tokens FROM privacy_proxy.llm_counters WHERE key = 'role:acme:sales'`,
      )
      .finally(() => pool.end());
    expect(Number(rows.rows[0]!.tokens)).toBe(7 * 30);
    // warn_at 0.5: crossed at the fourth call (120 ≥ 100); one event for both replicas (each tried to
    // claim it; give the losing claim time to come back before counting).
    await settle();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sales = warnings.filter((w) => w.budget === 'sales-daily-tokens');
    expect(sales).toHaveLength(1);
    expect(sales[0]).toMatchObject({ per: 'role', role: 'sales', unit: 'tokens', limit: 200, warnAt: 0.5 });
    expect(sales[0]!.used).toBeGreaterThanOrEqual(100);
    expect(sales[0]).not.toHaveProperty('agentId');
    // On the bus: the one warning, validated against its contract, as JetStream delivered it.
    await expectEventually(() =>
      expect(published.filter((w) => w.budget === 'sales-daily-tokens')).toEqual(sales),
    );
  });

  it('refuses by cost: a budget in dollars by the price table', async () => {
    // gpt-4o-mini at the shipped price: 10 × $0.15 + 20 × $0.60 per million = 13.5 µ$, rounded to 14 µ$ a call.
    // $0.00005 (50 µ$): calls at 0, 14, 28 and 42 µ$ are admitted, the fifth (at 56 µ$) is refused.
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++)
      outcomes.push(
        await chat(a, 'hr', 'hr-agent').then(
          () => 'ok',
          (e: unknown) => (e instanceof OpenAI.RateLimitError ? (e as Error).message : 'other'),
        ),
      );
    expect(outcomes.slice(0, 4)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(outcomes[4]).toMatch(
      /LLM budget "hr-daily-cost" of agent hr-agent is exhausted: \$0\.00005 per rolling day used up/,
    );
  });

  it('reserves an estimate while a stream runs and settles it on the real usage', async () => {
    a.upstream.script({ firstTokenDelayMs: 1_500 });
    const budget: LlmBudget = {
      name: 'agent-daily-tokens',
      per: 'agent',
      tokens: 100,
      window: 'day',
      reset: 'calendar',
    };
    const subject = { tenant: 'acme', agentId: 'finance-streamer', role: 'finance' };
    const client = await openai(a, 'finance', 'finance-streamer');
    const done = (async () => {
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        stream: true,
        max_tokens: 50,
        messages,
      });
      for await (const chunk of stream) void chunk;
    })();
    // In flight (the fake holds the first token 1.5 s): the body's bytes / 4 plus max_tokens (50) are reserved.
    await expectEventually(() => expect(a.governor!.ledger.usedOf(subject, budget)).toBeGreaterThan(50), {
      timeoutMs: 1_200,
      intervalMs: 20,
    });
    // The reservation is taken before the request is forwarded: the fake may record it a moment later.
    await expectEventually(() => expect(a.upstream.requests.at(-1)?.json?.['stream']).toBe(true), {
      timeoutMs: 1_000,
      intervalMs: 20,
    });
    await done;
    a.upstream.script({});
    expect(a.governor!.ledger.usedOf(subject, budget)).toBe(30);
  });

  it('counts the reservations of calls in flight: a burst on a nearly spent budget admits what fits, not the whole burst', async () => {
    // 90 of 100 tokens used; twenty calls at once, each reserving its bytes / 4 plus 1,024 output tokens.
    for (let i = 0; i < 3; i++) await chat(a, 'finance', 'finance-burst');
    const before = a.upstream.requests.length;
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () =>
        chat(a, 'finance', 'finance-burst').then(
          () => 'ok',
          (e: unknown) => (e instanceof OpenAI.RateLimitError ? '429' : 'other'),
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(outcomes.filter((o) => o === '429')).toHaveLength(19);
    expect(a.upstream.requests.length).toBe(before + 1);
  });

  it('limits requests per minute per agent with Retry-After', async () => {
    await sameMinute();
    await chat(a, 'ops', 'ops-agent');
    await chat(b, 'ops', 'ops-agent');
    await settle();
    const response = await fetch(`${a.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await a.token('ops', { sub: 'ops-agent' })}`,
      },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages }),
    });
    expect(response.status).toBe(429);
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // A rate limit passes within the minute: the SDKs may retry it.
    expect(response.headers.get('x-should-retry')).toBe('true');
    const body = (await response.json()) as { error: { type: string; message: string; rule: string } };
    expect(body.error).toMatchObject({
      type: 'rate_limit_error',
      rule: 'rateLimits.agent.requestsPerMinute',
    });
    expect(body.error.message).toMatch(/rate limit of agent ops-agent: 2 requests per minute/);
    // Another agent of the role is not limited by it.
    await expect(chat(a, 'ops', 'ops-other')).resolves.toBeDefined();
  });

  it('limits tokens per minute per role, the estimate of the next call included', async () => {
    // The first call of the minute is admitted whatever its estimate, and uses 30 tokens; the next
    // reserves its bytes / 4 plus its max_tokens (10): 30 + that > 50 → refused, for every agent of the role.
    const small = async (sub: string) =>
      (await openai(a, 'data', sub)).chat.completions.create({
        model: 'gpt-4o-mini',
        max_tokens: 10,
        messages,
      });
    await sameMinute();
    await expect(small('data-agent-1')).resolves.toBeDefined();
    const error = await small('data-agent-2').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).error).toMatchObject({
      rule: 'rateLimits.role.tokensPerMinute',
      message: expect.stringMatching(/rate limit of role data: 50 tokens per minute/),
    });
  });

  it('refuses a provider or a model the profile does not list with 403 naming the rule (model policy)', async () => {
    const gpt41 = await (
      await openai(a, 'finance', 'finance-policy')
    ).chat.completions
      .create({ model: 'gpt-4.1', messages })
      .catch((e: unknown) => e);
    expect(gpt41).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((gpt41 as Error).message).toMatch(
      /model policy of profile finance: model "gpt-4.1" is not allowed for openai/,
    );
    expect((gpt41 as InstanceType<typeof OpenAI.PermissionDeniedError>).error).toMatchObject({
      rule: 'profiles.finance.providers.openai.models',
    });
    // A dated snapshot of a listed model is the listed model.
    await expect(
      (await openai(a, 'finance', 'finance-policy')).chat.completions.create({
        model: 'gpt-4o-mini-2024-07-18',
        messages,
      }),
    ).resolves.toBeDefined();
    const claude = await (
      await anthropic(a, 'ops', 'ops-policy')
    ).messages
      .create({ model: 'claude-haiku-4-5', max_tokens: 64, messages })
      .catch((e: unknown) => e);
    expect(claude).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((claude as Error).message).toMatch(
      /model policy of profile ops: provider anthropic is not allowed \(allowed: openai\)/,
    );
  });

  it('refuses calls with 503 and a clear message while the budget store does not answer (fail closed), and recovers', async () => {
    const isolated = await createIsolatedDatabase(ctx.databaseUrl.replace(/\/[^/]*$/, '/postgres'));
    const blocker = new pg.Client({ connectionString: isolated.url });
    try {
      await runMigrations({ url: isolated.url, service: 'privacy-proxy' });
      const c = await replica(isolated.url, { staleAfterMs: 400 }, { statementTimeoutMs: 1_000 });
      // Ready once the shared counters were read (and the detectors built).
      const ready = await fetch(`${c.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { details: { budgetStore: unknown } }).details.budgetStore).toEqual({
        synced: true,
        healthy: true,
      });
      await expect(chat(c, 'engineering', 'eng-agent')).resolves.toBeDefined();
      // The store stops answering: the counters table is locked, every read and write of it waits
      // (and times out after the pool's 1 s statement timeout), as with a database that hangs.
      await blocker.connect();
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE privacy_proxy.llm_counters IN ACCESS EXCLUSIVE MODE');
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(c.governor!.ledger.storeHealthy()).toBe(false);
      // The replica stays ready: most profiles need no store, and those that do answer 503 themselves.
      const readyz = await fetch(`${c.url}/readyz`);
      expect(readyz.status).toBe(200);
      expect(((await readyz.json()) as { details: { budgetStore: unknown } }).details.budgetStore).toEqual({
        synced: true,
        healthy: false,
      });
      const before = c.upstream.requests.length;
      const error = await chat(c, 'engineering', 'eng-agent').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect((error as InstanceType<typeof OpenAI.InternalServerError>).status).toBe(503);
      expect((error as Error).message).toMatch(
        /the LLM budget store is unreachable and this profile limits LLM use: the call is refused/,
      );
      expect(c.upstream.requests.length).toBe(before);
      // A profile that says `on_store_unavailable: allow` goes on, counted locally.
      await expect(chat(c, 'support', 'support-agent')).resolves.toBeDefined();
      expect(c.upstream.requests.length).toBe(before + 1);
      // The store answers again: within a sync interval or two the calls go through.
      await blocker.query('COMMIT');
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await expect(chat(c, 'engineering', 'eng-agent')).resolves.toBeDefined();
    } finally {
      await blocker.end().catch(() => undefined);
      for (const h of harnesses.splice(2)) await h.close();
      await isolated.drop().catch(() => undefined);
    }
  });
});
