import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyProfile } from '@orgmesh/auth';
import {
  AgentRegistered,
  AgentRemoved,
  AgentUpdated,
  GetProfile,
  ListAgents,
  LoadRegistry,
  ProfilePublished,
  RenderConfig,
  type ConfigFormat,
  type RegistryProblem,
  type RegistrySourceFile,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { expectEventually, type TestContext } from '@orgmesh/testing';
import type { RegistryApp } from '../src/registry.app.js';
import { demoFiles, editFile, withFile, DEMO_REGISTRY_DIR } from './demo-registry.js';
import {
  clientBus,
  createTestContext,
  EventRecorder,
  rpcError,
  startTestRegistry,
} from './registry-harness.js';

const GOLDEN_DIR = fileURLToPath(new URL('./golden', import.meta.url));

async function count(app: RegistryApp, table: string): Promise<number> {
  const { rows } = await app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM registry.${table}`);
  return rows[0]?.n ?? -1;
}

/** Row counts of every table a load writes, and the outbox. */
async function footprint(app: RegistryApp): Promise<Record<string, number>> {
  const tables = [
    'registry_versions',
    'roles',
    'agents',
    'profiles',
    'profile_versions',
    'agent_presence',
    'outbox',
  ];
  return Object.fromEntries(await Promise.all(tables.map(async (t) => [t, await count(app, t)] as const)));
}

async function goldenCases(): Promise<
  Array<{ agentId: string; format: ConfigFormat; files: Map<string, string> }>
> {
  const cases: Array<{ agentId: string; format: ConfigFormat; files: Map<string, string> }> = [];
  for (const agentId of (await readdir(GOLDEN_DIR)).sort()) {
    for (const format of (await readdir(join(GOLDEN_DIR, agentId))).sort() as ConfigFormat[]) {
      const dir = join(GOLDEN_DIR, agentId, format);
      const entries = await readdir(dir, { withFileTypes: true, recursive: true });
      const files = new Map<string, string>();
      for (const entry of entries.filter((e) => e.isFile())) {
        const full = join(entry.parentPath, entry.name);
        files.set(relative(dir, full), await readFile(full, 'utf8'));
      }
      cases.push({ agentId, format, files });
    }
  }
  return cases;
}

describe('registry round trip: YAML directory → Postgres → render', () => {
  let ctx: TestContext;
  let bus: MessageBus;
  let app: RegistryApp | undefined;

  beforeAll(async () => {
    ctx = await createTestContext();
    bus = await clientBus(ctx);
  });

  afterAll(async () => {
    await app?.close();
    await bus?.close();
    await ctx?.dispose();
  });

  it('renders every golden config byte for byte from a version rebuilt out of Postgres', async () => {
    // First process: loads the YAML directory into Postgres.
    const loader = await startTestRegistry(ctx);
    expect(loader.service.current?.version).toBe(1);
    await loader.close();
    // Second process: no directory, so everything it knows comes from the stored version.
    app = await startTestRegistry(ctx, { overrides: { REGISTRY_DIR: '' } });
    expect(app.service.current?.version).toBe(1);

    const cases = await goldenCases();
    expect(cases.length).toBeGreaterThanOrEqual(8);
    for (const { agentId, format, files } of cases) {
      const rendered = await bus.request(RenderConfig, { agentId, format });
      expect({ agentId, format, paths: rendered.files.map((f) => f.path).sort() }).toEqual({
        agentId,
        format,
        paths: [...files.keys()].sort(),
      });
      for (const file of rendered.files)
        expect({ path: file.path, content: file.content }).toEqual({
          path: file.path,
          content: files.get(file.path),
        });
      expect(rendered.configHash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(rendered.version).toBe(1);
      // The warnings travel with the files: for Goose, the same lines head its config.yaml.
      const header = files.get('.config/goose/config.yaml') ?? '';
      const narrower = [...header.matchAll(/^# Narrower than the registry: (.*)$/gm)].map((m) => m[1]);
      if (format === 'goose') expect(rendered.warnings).toEqual(narrower);
    }
    const finance = await bus.request(RenderConfig, { agentId: 'finance-agent', format: 'goose' });
    expect(finance.warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/^bash:python3: not granted to Goose/)]),
    );
  });
});

describe('registry versions over NATS and Postgres', () => {
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
    events = await EventRecorder.start(bus, [AgentRegistered, AgentUpdated, AgentRemoved, ProfilePublished]);
  });

  afterAll(async () => {
    await events?.stop();
    await bus?.close();
    await app?.close();
    await ctx?.dispose();
  });

  it('loads the directory at startup as version 1 and announces every agent and signed profile through the outbox', async () => {
    expect(await footprint(app)).toMatchObject({
      registry_versions: 1,
      roles: 6,
      agents: 26,
      profiles: 7,
      profile_versions: 7,
    });
    await expectEventually(() => {
      expect(events.of(AgentRegistered)).toHaveLength(26);
      expect(events.of(ProfilePublished)).toHaveLength(7);
    });
    expect(events.of(AgentRegistered).map((e) => e.agent.id)).toEqual(
      expect.arrayContaining(['finance-agent', 'manager-agent', 'legal-agent']),
    );
    expect(new Set(events.of(AgentRegistered).map((e) => e.version))).toEqual(new Set([1]));
    // Every outbox row was relayed (and each event carries its outbox id as Nats-Msg-Id).
    await expectEventually(async () => {
      const { rows } = await app.db.query<{ pending: number }>(
        `SELECT count(*)::int AS pending FROM registry.outbox WHERE published_at IS NULL`,
      );
      expect(rows[0]?.pending).toBe(0);
    });
    const { rows } = await app.db.query<{ event_id: string }>(
      `SELECT event_id FROM registry.outbox WHERE subject = $1`,
      [AgentRegistered.subject],
    );
    expect(new Set(events.eventIds(AgentRegistered))).toEqual(new Set(rows.map((r) => r.event_id)));

    const { profile, jwks } = await bus.request(GetProfile, { role: 'legal' });
    const published = events.of(ProfilePublished).find((e) => e.profileId === 'legal');
    if (!published) throw new Error('no profile-published for legal');
    expect(published.kid).toBe(app.signingKid);
    const verified = await verifyProfile(published.jws, jwks);
    expect(verified.published).toMatchObject({ profile, version: 1 });
  });

  it('answers a load of identical content with the current version and stores nothing', async () => {
    const before = await footprint(app);
    const result = await bus.request(LoadRegistry, { files: [...demo].reverse() });
    expect(result).toMatchObject({ version: 1, changed: false, roles: 6, agents: 26, profiles: 7 });
    expect(await footprint(app)).toEqual(before);
  });

  it('refuses an invalid registry with the file, the path and the reason, and changes nothing', async () => {
    const before = await footprint(app);
    const broken = withFile(
      editFile(
        demo,
        'agents/finance-agent.yaml',
        'delegates_to: [accounts-payable-agent',
        'delegates_to: [acounts-payable-agent',
      ),
      'profiles/sales.yaml',
      undefined,
    );
    const error = await rpcError(
      bus.request(LoadRegistry, {
        files: withFile(broken, 'agents/qa-agent.yaml', 'id: qa-agent\nrole: [engineering\n'),
      }),
    );
    expect(error.code).toBe('validation_failed');
    const problems = error.details?.['problems'] as RegistryProblem[];
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          file: 'agents/finance-agent.yaml',
          path: 'delegates_to[0]',
          reason: 'unknown agent "acounts-payable-agent"; did you mean "accounts-payable-agent"?',
          line: 9,
        }),
        expect.objectContaining({
          file: 'agents/qa-agent.yaml',
          path: '(root)',
          reason: expect.stringMatching(/^invalid YAML/),
          line: expect.any(Number),
          column: expect.any(Number),
        }),
        expect.objectContaining({ path: expect.any(String), reason: expect.stringContaining('no profile') }),
      ]),
    );
    expect(error.message).toContain(
      'agents/finance-agent.yaml: delegates_to[0]: unknown agent "acounts-payable-agent"',
    );
    expect(await footprint(app)).toEqual(before);
    expect((await bus.request(ListAgents, { limit: 1 })).version).toBe(1);
  });

  it('stores an edited registry as version 2 and announces exactly what changed', async () => {
    const edited = withFile(
      editFile(
        editFile(demo, 'agents/backend-agent.yaml', 'Backend Agent', 'Backend Service Agent'),
        'profiles/legal.yaml',
        'ssn: strict',
        'ssn: mask',
      ),
      'agents/data-agent.yaml',
      undefined,
    );
    const result = await bus.request(LoadRegistry, { files: edited });
    expect(result).toMatchObject({ version: 2, changed: true, agents: 25, profiles: 7 });
    await expectEventually(() => {
      expect(events.of(AgentRemoved)).toEqual([
        expect.objectContaining({ agentId: 'data-agent', role: 'engineering', version: 2 }),
      ]);
      expect(
        events
          .of(AgentUpdated)
          .map((e) => [e.agent.id, e.changed])
          .sort(),
      ).toEqual([
        ['backend-agent', ['displayName']],
        ['compliance-agent', ['profile']],
        ['contracts-agent', ['profile']],
        ['legal-agent', ['profile']],
        ['privacy-counsel-agent', ['profile']],
      ]);
      expect(
        events
          .of(ProfilePublished)
          .filter((e) => e.version === 2)
          .map((e) => e.profileId),
      ).toEqual(['legal']);
    });
    expect(events.of(AgentRegistered)).toHaveLength(26);

    // The changed profile is served with its new signature; an unchanged one keeps its version-1 signature.
    const legal = await bus.request(GetProfile, { profileId: 'legal' });
    expect(legal.version).toBe(2);
    expect((await verifyProfile(legal.jws, legal.jwks)).published).toMatchObject({
      version: 2,
      profile: { privacy: { entities: { ssn: 'mask' } } },
    });
    const finance = await bus.request(GetProfile, { role: 'finance' });
    expect((await verifyProfile(finance.jws, finance.jwks)).published.version).toBe(1);
    expect(await footprint(app)).toMatchObject({
      registry_versions: 2,
      agents: 26 + 25,
      profile_versions: 8,
    });
  });
});

describe('loading the registry directory at startup', () => {
  let ctx: TestContext;
  let dir: string;

  beforeAll(async () => {
    ctx = await createTestContext();
    dir = await mkdtemp(join(tmpdir(), 'orgmesh-registry-'));
    await cp(DEMO_REGISTRY_DIR, dir, { recursive: true });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await ctx?.dispose();
  });

  it('refuses to start on an invalid directory when nothing is stored, naming each problem and storing nothing', async () => {
    await writeFile(
      join(dir, 'agents', 'legal-agent.yaml'),
      'id: legal-agent\nrole: legal\ndisplay_name: Legal\nmodel: {provider: openai}\n',
    );
    const error = await rpcError(startTestRegistry(ctx, { overrides: { REGISTRY_DIR: dir } }));
    expect(error.code).toBe('validation_failed');
    expect(error.message).toContain('agents/legal-agent.yaml: model.name: required');
    expect(error.details?.['problems']).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: 'agents/legal-agent.yaml', path: 'model.name', reason: 'required' }),
      ]),
    );
    // Nothing half-loaded: the schema exists (migrated) but holds no version.
    const app = await startTestRegistry(ctx, { overrides: { REGISTRY_DIR: '' } });
    try {
      expect(app.service.current).toBeUndefined();
      expect(await count(app, 'registry_versions')).toBe(0);
      expect(await count(app, 'outbox')).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('keeps serving the stored version when the directory becomes invalid, and loads it once fixed', async () => {
    await cp(join(DEMO_REGISTRY_DIR, 'agents', 'legal-agent.yaml'), join(dir, 'agents', 'legal-agent.yaml'));
    const first = await startTestRegistry(ctx, { overrides: { REGISTRY_DIR: dir } });
    expect(first.service.current?.version).toBe(1);
    await first.close();

    await writeFile(join(dir, 'roles.yaml'), 'roles: []\n');
    const second = await startTestRegistry(ctx, { overrides: { REGISTRY_DIR: dir } });
    try {
      expect(second.service.current?.version).toBe(1);
      expect(await count(second, 'registry_versions')).toBe(1);
    } finally {
      await second.close();
    }

    await cp(join(DEMO_REGISTRY_DIR, 'roles.yaml'), join(dir, 'roles.yaml'));
    await writeFile(
      join(dir, 'agents', 'qa-agent.yaml'),
      (await readFile(join(DEMO_REGISTRY_DIR, 'agents', 'qa-agent.yaml'), 'utf8')).replace(
        'QA Agent',
        'Quality Agent',
      ),
    );
    const third = await startTestRegistry(ctx, { overrides: { REGISTRY_DIR: dir } });
    try {
      expect(third.service.current?.version).toBe(2);
    } finally {
      await third.close();
    }
  });
});
