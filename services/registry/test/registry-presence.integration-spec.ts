import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AgentHeartbeat,
  AgentOffline,
  AgentOnline,
  DriftCleared,
  DriftDetected,
  GetAgent,
  ListAgents,
  LoadRegistry,
  RenderConfig,
  type RegistrySourceFile,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { expectEventually, type TestContext } from '@orgmesh/testing';
import type { RegistryApp } from '../src/registry.app.js';
import { demoFiles, editFile } from './demo-registry.js';
import {
  clientBus,
  createTestContext,
  EventRecorder,
  rpcError,
  startTestRegistry,
} from './registry-harness.js';

const WRONG_HASH = `sha256:${'0'.repeat(64)}`;
const OTHER_WRONG_HASH = `sha256:${'1'.repeat(64)}`;

describe('heartbeats, presence and drift', () => {
  let ctx: TestContext;
  let app: RegistryApp;
  let bus: MessageBus;
  let events: EventRecorder;
  let demo: RegistrySourceFile[];

  beforeAll(async () => {
    ctx = await createTestContext();
    demo = await demoFiles();
    app = await startTestRegistry(ctx);
    bus = await clientBus(ctx);
    events = await EventRecorder.start(bus, [AgentOnline, DriftDetected, DriftCleared]);
  });

  afterAll(async () => {
    await events?.stop();
    await bus?.close();
    await app?.close();
    await ctx?.dispose();
  });

  it('shows a never-seen agent offline, with the hashes a correct config would report', async () => {
    const { agent, profileId, presence, expectedConfigHashes, version } = await bus.request(GetAgent, {
      agentId: 'finance-agent',
    });
    expect(agent).toMatchObject({ id: 'finance-agent', role: 'finance' });
    expect(profileId).toBe('finance');
    expect(version).toBe(1);
    expect(presence).toEqual({ online: false, lastSeenAt: null, reportedConfigHash: null, drift: false });
    const goose = await bus.request(RenderConfig, { agentId: 'finance-agent', format: 'goose' });
    // An OpenAI agent cannot run Claude Code: goose is its only format.
    expect(expectedConfigHashes).toEqual({ goose: goose.configHash });
    expect(
      (await rpcError(bus.request(RenderConfig, { agentId: 'finance-agent', format: 'claude-code' }))).code,
    ).toBe('validation_failed');
    expect((await rpcError(bus.request(GetAgent, { agentId: 'no-such-agent' }))).code).toBe(
      'agent_not_found',
    );
  });

  it('brings an agent online on its first heartbeat, without drift when it runs the rendered config', async () => {
    const { configHash } = await bus.request(RenderConfig, { agentId: 'finance-agent', format: 'goose' });
    const reply = await bus.request(AgentHeartbeat, {
      agentId: 'finance-agent',
      configHash,
      format: 'goose',
    });
    expect(reply).toMatchObject({ online: true, drift: false, timeoutMs: 30_000 });
    const { presence } = await bus.request(GetAgent, { agentId: 'finance-agent' });
    expect(presence).toMatchObject({
      online: true,
      reportedConfigHash: configHash,
      drift: false,
      lastSeenAt: reply.receivedAt,
    });
    await expectEventually(() =>
      expect(events.of(AgentOnline).map((e) => e.agentId)).toEqual(['finance-agent']),
    );
    // A second heartbeat is not a second agent-online.
    await bus.request(AgentHeartbeat, { agentId: 'finance-agent', configHash });
    const online = await bus.request(ListAgents, { online: true });
    expect(online.items.map((i) => i.agent.id)).toEqual(['finance-agent']);
  });

  it('detects drift once per wrong config, shows it on get-agent, and clears it when the config is right again', async () => {
    const { configHash } = await bus.request(RenderConfig, { agentId: 'finance-agent', format: 'goose' });
    expect(
      (await bus.request(AgentHeartbeat, { agentId: 'finance-agent', configHash: WRONG_HASH })).drift,
    ).toBe(true);
    expect(
      (await bus.request(AgentHeartbeat, { agentId: 'finance-agent', configHash: WRONG_HASH })).drift,
    ).toBe(true);
    expect((await bus.request(GetAgent, { agentId: 'finance-agent' })).presence).toMatchObject({
      drift: true,
      reportedConfigHash: WRONG_HASH,
    });
    await expectEventually(() =>
      expect(events.of(DriftDetected)).toEqual([
        expect.objectContaining({
          agentId: 'finance-agent',
          reportedConfigHash: WRONG_HASH,
          expectedConfigHashes: [configHash],
        }),
      ]),
    );
    // Another wrong config is another drift.
    await bus.request(AgentHeartbeat, { agentId: 'finance-agent', configHash: OTHER_WRONG_HASH });
    await expectEventually(() =>
      expect(events.of(DriftDetected).map((e) => e.reportedConfigHash)).toEqual([
        WRONG_HASH,
        OTHER_WRONG_HASH,
      ]),
    );

    expect((await bus.request(AgentHeartbeat, { agentId: 'finance-agent', configHash })).drift).toBe(false);
    await expectEventually(() =>
      expect(events.of(DriftCleared)).toEqual([
        expect.objectContaining({ agentId: 'finance-agent', configHash }),
      ]),
    );
    expect((await bus.request(GetAgent, { agentId: 'finance-agent' })).presence.drift).toBe(false);
    expect(events.of(AgentOnline)).toHaveLength(1);
  });

  it('judges drift against the heartbeat’s format when it names one', async () => {
    const claude = await bus.request(RenderConfig, { agentId: 'backend-agent', format: 'claude-code' });
    const goose = await bus.request(RenderConfig, { agentId: 'backend-agent', format: 'goose' });
    expect(
      (await bus.request(AgentHeartbeat, { agentId: 'backend-agent', configHash: goose.configHash })).drift,
    ).toBe(false);
    expect(
      (await bus.request(AgentHeartbeat, { agentId: 'backend-agent', configHash: claude.configHash })).drift,
    ).toBe(false);
    expect(
      (
        await bus.request(AgentHeartbeat, {
          agentId: 'backend-agent',
          configHash: goose.configHash,
          format: 'claude-code',
        })
      ).drift,
    ).toBe(true);
    expect(
      (
        await bus.request(AgentHeartbeat, {
          agentId: 'backend-agent',
          configHash: claude.configHash,
          format: 'claude-code',
        })
      ).drift,
    ).toBe(false);
  });

  it('refuses a heartbeat from an agent the registry does not declare', async () => {
    expect(
      (await rpcError(bus.request(AgentHeartbeat, { agentId: 'ghost-agent', configHash: WRONG_HASH }))).code,
    ).toBe('agent_not_found');
    const { rows } = await app.db.query(
      `SELECT agent_id FROM registry.agent_presence WHERE agent_id = 'ghost-agent'`,
    );
    expect(rows).toEqual([]);
  });

  it('re-judges drift when a new registry version changes a running agent, and clears it once redeployed', async () => {
    const before = await bus.request(RenderConfig, { agentId: 'finance-agent', format: 'goose' });
    await bus.request(AgentHeartbeat, { agentId: 'finance-agent', configHash: before.configHash });
    const detectedBefore = events.of(DriftDetected).length;
    const clearedBefore = events.of(DriftCleared).length;

    await bus.request(LoadRegistry, {
      files: editFile(demo, 'agents/finance-agent.yaml', 'Finance Agent', 'Finance Assistant'),
    });
    const after = await bus.request(RenderConfig, { agentId: 'finance-agent', format: 'goose' });
    expect(after.version).toBe(2);
    expect(after.configHash).not.toBe(before.configHash);
    await expectEventually(() =>
      expect(events.of(DriftDetected).slice(detectedBefore)).toEqual([
        expect.objectContaining({
          agentId: 'finance-agent',
          reportedConfigHash: before.configHash,
          expectedConfigHashes: [after.configHash],
        }),
      ]),
    );
    expect((await bus.request(GetAgent, { agentId: 'finance-agent' })).presence.drift).toBe(true);

    expect(
      (await bus.request(AgentHeartbeat, { agentId: 'finance-agent', configHash: after.configHash })).drift,
    ).toBe(false);
    await expectEventually(() =>
      expect(events.of(DriftCleared).slice(clearedBefore)).toEqual([
        expect.objectContaining({ configHash: after.configHash }),
      ]),
    );
  });
});

describe('presence timeout', () => {
  let ctx: TestContext;
  let app: RegistryApp;
  let bus: MessageBus;
  let events: EventRecorder;

  beforeAll(async () => {
    ctx = await createTestContext();
    app = await startTestRegistry(ctx, {
      startJobs: true,
      overrides: { REGISTRY_PRESENCE_TIMEOUT: '400ms', REGISTRY_PRESENCE_SWEEP_INTERVAL: '100ms' },
    });
    bus = await clientBus(ctx);
    events = await EventRecorder.start(bus, [AgentOnline, AgentOffline]);
  });

  afterAll(async () => {
    await events?.stop();
    await bus?.close();
    await app?.close();
    await ctx?.dispose();
  });

  it('marks an agent offline when its heartbeats stop, and online again when they resume', async () => {
    const { configHash } = await bus.request(RenderConfig, { agentId: 'legal-agent', format: 'goose' });
    const first = await bus.request(AgentHeartbeat, { agentId: 'legal-agent', configHash });
    expect(first.timeoutMs).toBe(400);
    expect((await bus.request(GetAgent, { agentId: 'legal-agent' })).presence.online).toBe(true);

    // No more heartbeats: the presence job marks it offline and says when it was last seen.
    await expectEventually(
      () =>
        expect(events.of(AgentOffline)).toEqual([
          expect.objectContaining({ agentId: 'legal-agent', lastSeenAt: first.receivedAt }),
        ]),
      {
        timeoutMs: 5_000,
      },
    );
    const offline = events.of(AgentOffline)[0];
    expect(Date.parse(offline?.occurredAt ?? '') - Date.parse(first.receivedAt)).toBeGreaterThan(400);
    expect((await bus.request(GetAgent, { agentId: 'legal-agent' })).presence).toMatchObject({
      online: false,
      lastSeenAt: first.receivedAt,
    });
    expect((await bus.request(ListAgents, { online: true })).items).toEqual([]);

    await bus.request(AgentHeartbeat, { agentId: 'legal-agent', configHash });
    await expectEventually(() =>
      expect(events.of(AgentOnline).map((e) => e.agentId)).toEqual(['legal-agent', 'legal-agent']),
    );
    expect((await bus.request(GetAgent, { agentId: 'legal-agent' })).presence.online).toBe(true);
  });
});

describe('presence timeout boundary (controlled clock)', () => {
  let ctx: TestContext;
  let app: RegistryApp;
  let bus: MessageBus;
  let now = Date.parse('2030-01-01T09:00:00.000Z');
  const clock = { now: () => new Date(now) };

  beforeAll(async () => {
    ctx = await createTestContext();
    app = await startTestRegistry(ctx, { clock, overrides: { REGISTRY_PRESENCE_TIMEOUT: '30s' } });
    bus = await clientBus(ctx);
  });

  afterAll(async () => {
    await bus?.close();
    await app?.close();
    await ctx?.dispose();
  });

  it('keeps an agent online while it heartbeats within the timeout, and sweeps it exactly once after', async () => {
    const { configHash } = await bus.request(RenderConfig, { agentId: 'manager-agent', format: 'goose' });
    await bus.request(AgentHeartbeat, { agentId: 'manager-agent', configHash });
    now += 29_000;
    expect(await app.jobs.sweepOnce()).toBe(0);
    await bus.request(AgentHeartbeat, { agentId: 'manager-agent', configHash });
    now += 30_000;
    expect(await app.jobs.sweepOnce()).toBe(0);
    expect((await bus.request(GetAgent, { agentId: 'manager-agent' })).presence.online).toBe(true);

    now += 1;
    // Stale but not yet swept: get-agent already shows it offline.
    expect((await bus.request(GetAgent, { agentId: 'manager-agent' })).presence.online).toBe(false);
    expect(await app.jobs.sweepOnce()).toBe(1);
    expect(await app.jobs.sweepOnce()).toBe(0);
    const { rows } = await app.db.query(
      `SELECT online FROM registry.agent_presence WHERE agent_id = 'manager-agent'`,
    );
    expect(rows).toEqual([{ online: false }]);
  });
});
