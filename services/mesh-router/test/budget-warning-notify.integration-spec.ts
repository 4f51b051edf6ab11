import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { createJwtVerifier } from '@orgmesh/auth';
import {
  BUDGET_WARNING_NOTIFICATION_TYPE,
  BudgetWarningNotificationDetails,
  ListTasks,
  PrivacyBudgetWarning,
  type PrivacyBudgetWarningPayload,
  type Task,
} from '@orgmesh/contracts';
import { BusPermissionError, connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { runMigrations } from '@orgmesh/migrations';
import { Database } from '@orgmesh/persistence';
import {
  budgetWarningFixture,
  expectEventually,
  startSecuredNats,
  type SecuredNats,
  type TestAgent,
  type TestContext,
} from '@orgmesh/testing';
import { Registry } from 'prom-client';
// The real registry (the shipped org chart and profiles) and the real privacy proxy, in-process on
// this test's NATS namespace and database (tests only).
import { startTestRegistry, DEMO_ORG_CHART, DEMO_REGISTRY_DIR } from '@orgmesh/registry/testing';
import {
  startHarness,
  type Harness,
  PostgresCounterStore,
  PostgresUsageStore,
  budgetWarningPublisher,
  RegistryProfileSource,
  NatsRegistryReader,
} from '@orgmesh/privacy-proxy/testing';
import { startMeshRouterApp, type MeshRouterApp } from '../src/mesh-router.app.js';
import { BUDGET_WARNING_DURABLE, BudgetWarningConsumer } from '../src/budget/budget-warning.consumer.js';
import {
  LocalIssuer,
  bearer,
  clientBus,
  createTestContext,
  silentLogger,
  testAgent,
  testConfig,
} from './mesh-harness.js';

/**
 * Issue 24 item 2 (ADR 0016, "Warnings"): a budget's warning threshold notifies the role's manager
 * through the mesh. The official OpenAI SDK calls the real proxy (budgets from the real registry's
 * profiles, counters in Postgres, the recording fake provider: 30 tokens a call); the proxy publishes
 * privacy.v1.budget-warning on JetStream; the mesh router's durable turns it into one notification
 * from `system` to the manager's role, which the Manager agent takes from its inbox. In the shipped
 * org chart Finance's line is headed by u00004, who reports to u00002 (role manager); the head of the
 * manager role, u00001, reports to nobody.
 */
const PROMPT = 'Status of the quarter for the Falcon account, in one line.';

describe('budget warnings notify the manager through the mesh', () => {
  let ctx: TestContext;
  let issuer: LocalIssuer;
  let dir: string;
  let registry: Awaited<ReturnType<typeof startTestRegistry>>;
  let mesh: MeshRouterApp | undefined;
  let client: MessageBus;
  let proxyBus: MessageBus;
  let proxyDb: Database;
  let source: RegistryProfileSource;
  let proxy: Harness;
  let managerAgent: TestAgent;
  let admin: string;
  const warnings: PrivacyBudgetWarningPayload[] = [];

  const startMesh = () =>
    startMeshRouterApp(testConfig(ctx), {
      logger: silentLogger,
      migrate: true,
      startJobs: false,
      verifier: createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks }),
    });

  beforeAll(async () => {
    ctx = await createTestContext();
    issuer = await LocalIssuer.create();
    // The shipped registry with a small per-agent budget on Finance (200 tokens, warning at 25%) and a
    // role budget on Manager, whose line has nobody above it.
    dir = await mkdtemp(join(tmpdir(), 'orgmesh-budget-warn-'));
    await cp(DEMO_REGISTRY_DIR, dir, { recursive: true });
    const financeFile = join(dir, 'profiles/finance.yaml');
    const finance = await readFile(financeFile, 'utf8');
    const shipped = 'tokens: 2000000, window: day, reset: calendar, warn_at: 0.8';
    expect(finance).toContain(shipped);
    await writeFile(
      financeFile,
      finance.replace(shipped, 'tokens: 200, window: day, reset: calendar, warn_at: 0.25'),
    );
    const managerFile = join(dir, 'profiles/manager.yaml');
    await writeFile(
      managerFile,
      `${await readFile(managerFile, 'utf8')}llm:\n  budgets:\n    - { name: manager-daily-tokens, per: role, tokens: 200, window: day, reset: calendar, warn_at: 0.25 }\n`,
    );
    registry = await startTestRegistry(ctx, {
      overrides: { REGISTRY_DIR: dir, REGISTRY_ORG_CHART: DEMO_ORG_CHART },
    });
    mesh = await startMesh();
    client = await clientBus(ctx, 'budget-warning-test');
    admin = await bearer(issuer, 'ops-admin', 'admin', 'orgmesh:admin');
    managerAgent = await testAgent(ctx, issuer, 'manager-agent', 'manager', { kind: 'complete' });

    // The proxy as main.ts runs it: profiles from the registry, counters in Postgres, warnings on JetStream.
    await runMigrations({ url: ctx.databaseUrl, service: 'privacy-proxy' });
    proxyBus = await clientBus(ctx, 'privacy-proxy');
    await proxyBus.ensureStream('privacy');
    const publish = budgetWarningPublisher(proxyBus, silentLogger);
    proxyDb = await Database.connect({ url: ctx.databaseUrl, schema: 'privacy_proxy', poolSize: 2 });
    source = new RegistryProfileSource(new NatsRegistryReader(proxyBus, 2_000), silentLogger, {
      ttlMs: 600_000,
    });
    source.start();
    proxy = await startHarness(
      {},
      {
        profiles: source,
        governance: {
          counters: new PostgresCounterStore(proxyDb),
          usage: new PostgresUsageStore(proxyDb),
          syncIntervalMs: 50,
          staleAfterMs: 30_000,
          onWarning: (warning) => {
            warnings.push(warning);
            publish(warning);
          },
        },
      },
    );
  }, 60_000);

  afterAll(async () => {
    await proxy?.close();
    source?.stop();
    await proxyDb?.close().catch(() => undefined);
    await managerAgent?.stop();
    await proxyBus?.close();
    await client?.close();
    await mesh?.close();
    await registry?.close();
    await ctx?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const chat = async (role: string, sub: string) =>
    new OpenAI({
      apiKey: await proxy.token(role, { sub }),
      baseURL: `${proxy.url}/v1`,
      maxRetries: 0,
    }).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: PROMPT }],
    });

  /** Every budget-warning notification the mesh stores, as an admin lists them. */
  const notifications = async (): Promise<Task[]> => {
    const { items } = await client.request(
      ListTasks,
      { kind: 'notification', direction: 'any', limit: 100 },
      { authorization: admin },
    );
    return items.filter((t) => t.type === BUDGET_WARNING_NOTIFICATION_TYPE);
  };

  const counted = async (outcome: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${mesh!.health.port}/metrics`)).text();
    const line = new RegExp(
      `^orgmesh_mesh_budget_warnings_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)`,
      'm',
    ).exec(text);
    return Number(line?.[1] ?? 0);
  };

  /** The router's durable has taken and acknowledged everything in the stream. */
  const drained = async () => {
    const info = await client.jsm.consumers.info(
      client.streamName('privacy'),
      client.durableName(BUDGET_WARNING_DURABLE),
    );
    expect(info.num_pending).toBe(0);
    expect(info.num_ack_pending).toBe(0);
  };

  it('sends exactly one notification from system to the manager role when the threshold is crossed, even after a redelivery and a restart', async () => {
    // 30 tokens a call against 200 with a warning at 25% (50): the second call crosses it.
    for (let i = 0; i < 4 && warnings.length === 0; i++) {
      await chat('finance', 'finance-agent');
      await proxy.governor!.ledger.syncNow();
    }
    const warning = warnings.find((w) => w.agentId === 'finance-agent');
    expect(warning).toMatchObject({
      budget: 'finance-agent-daily-tokens',
      per: 'agent',
      role: 'finance',
      warnAt: 0.25,
    });

    await expectEventually(() => expect(managerAgent.received).toHaveLength(1), { timeoutMs: 15_000 });
    const [delivered] = managerAgent.received;
    expect(delivered).toMatchObject({
      kind: 'notification',
      from: { agentId: 'system', role: 'system' },
      to: { role: 'manager', agentId: null },
      type: BUDGET_WARNING_NOTIFICATION_TYPE,
      priority: 'high',
    });
    const details = BudgetWarningNotificationDetails.parse(delivered!.details);
    expect(details).toMatchObject({
      eventId: warning!.eventId,
      agentId: 'finance-agent',
      role: 'finance',
      budget: 'finance-agent-daily-tokens',
      window: 'day',
      reset: 'calendar',
      unit: 'tokens',
      limit: 200,
      used: warning!.used,
      manager: { userId: 'u00002', role: 'manager' },
    });
    expect(details.percentUsed).toBeGreaterThanOrEqual(25);
    expect(delivered!.message).toMatch(
      /^LLM budget "finance-agent-daily-tokens" of agent finance-agent \(role finance\) is \d+(\.\d)?% used: \d+ tokens of 200 tokens per calendar day/,
    );
    // No prompt content and no person's name or email: ids and counts only.
    const text = JSON.stringify(delivered);
    expect(text).not.toMatch(/quarter|Falcon|Yara|Quinn|@example/);
    // The Manager agent took it and acknowledged it by completing it.
    await expectEventually(async () => expect((await notifications())[0]?.state).toBe('completed'));
    expect(await notifications()).toHaveLength(1);
    expect(await counted('notified')).toBe(1);

    // The same warning again under another message id (a publish retried past the stream's
    // duplicate window, or a second proxy replica): the router takes it and stores nothing.
    await proxyBus.publish(PrivacyBudgetWarning, warning!, { eventId: `${warning!.eventId}:again` });
    await expectEventually(async () => expect(await counted('duplicate')).toBe(1));
    await expectEventually(drained);

    // A restart whose durable lost its position (as after a crash between the write and the ack):
    // the new router reads both messages again from the start of the stream.
    await mesh!.close();
    await client.jsm.consumers.delete(
      client.streamName('privacy'),
      client.durableName(BUDGET_WARNING_DURABLE),
    );
    mesh = await startMesh();
    await expectEventually(async () => expect(await counted('duplicate')).toBe(2), { timeoutMs: 15_000 });
    await expectEventually(drained);
    expect(await notifications()).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(managerAgent.received).toHaveLength(1);
  }, 60_000);

  it('notifies nobody when the line has nobody above it (the head of the manager role)', async () => {
    const before = await notifications();
    for (let i = 0; i < 4 && !warnings.some((w) => w.role === 'manager'); i++) {
      await chat('manager', `manager-caller-${i}`);
      await proxy.governor!.ledger.syncNow();
    }
    expect(warnings.find((w) => w.role === 'manager')).toMatchObject({
      budget: 'manager-daily-tokens',
      per: 'role',
    });
    await expectEventually(async () => expect(await counted('no_manager')).toBe(1), { timeoutMs: 15_000 });
    await expectEventually(drained);
    expect(await notifications()).toHaveLength(before.length);
  }, 60_000);
});

describe('budget warnings on a secured bus (access.ts grants the router its durable)', () => {
  const token = `tbw${Math.random().toString(36).slice(2, 8)}`;
  let nats: SecuredNats;
  const buses: MessageBus[] = [];
  let consumer: BudgetWarningConsumer | undefined;

  // What the router's bus logged: a refused request shows there (and in the server's log).
  const routerLog: string[] = [];
  const busAs = async (identity: string) => {
    const bus = await connectBus({
      ...nats.busOptions(identity),
      logger:
        identity === 'mesh-router'
          ? createLogger({
              service: 'mesh-router',
              level: 'info',
              destination: { write: (line: string) => void routerLog.push(line) },
            })
          : silentLogger,
    });
    buses.push(bus);
    return bus;
  };

  beforeAll(async () => {
    nats = await startSecuredNats({ subjectPrefix: `${token}.`, nameSuffix: `_${token.toUpperCase()}` });
  }, 60_000);

  afterAll(async () => {
    await consumer?.stop();
    await Promise.allSettled(buses.map((b) => b.close()));
    await nats?.dispose();
  });

  it('consumes as mesh-router once the proxy created PRIVACY; another service may not read it', async () => {
    const router = await busAs('mesh-router');
    const got: PrivacyBudgetWarningPayload[] = [];
    consumer = new BudgetWarningConsumer(
      router,
      {
        notify: async (warning) => {
          got.push(warning);
          return { outcome: 'notified' };
        },
      },
      silentLogger,
      new Registry(),
    );
    // The router may not create the proxy's stream: it starts waiting for it, without failing, and
    // without trying (each refused try was a permission violation in both logs).
    await consumer.start();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const proxyBus = await busAs('privacy-proxy');
    await proxyBus.ensureStream('privacy');
    const warning = budgetWarningFixture({ eventId: 'secured-1' });
    await proxyBus.publish(PrivacyBudgetWarning, warning, { eventId: warning.eventId });
    await expectEventually(() => expect(got).toEqual([warning]), { timeoutMs: 15_000 });
    expect(routerLog.filter((line) => /Permissions Violation/i.test(line))).toEqual([]);
    const gateway = await busAs('gateway');
    await expect(
      gateway.consume(PrivacyBudgetWarning, 'gateway--privacy-v1-budget-warning', async () => undefined),
    ).rejects.toBeInstanceOf(BusPermissionError);
  }, 60_000);
});
