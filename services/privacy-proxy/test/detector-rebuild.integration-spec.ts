import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LocalIssuer } from '@orgmesh/auth';
import { LoadRegistry, type RegistrySourceFile } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { preloadNamesLexicon, type Directory } from '@orgmesh/privacy';
import { createLogger } from '@orgmesh/telemetry';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
// The real registry service and its importer, in-process against this test's database and NATS
// namespace: the proxy reads it over NATS exactly as in production (tests only).
import { importOver, type RegistryApp, startTestRegistry } from '@orgmesh/registry/testing';
import { RecordingAuditSink } from '../src/audit/audit-sink.js';
import { JoseTokenVerifier } from '../src/auth/token-verifier.js';
import type { DetectorBuilder, DetectorStatus } from '../src/privacy/detector-cache.js';
import { indexedDetectorBuilder } from '../src/privacy/privacy-engine.js';
import { createPrivacyProxy, type PrivacyProxy } from '../src/privacy-proxy.server.js';
import { RegistryProfileSource } from '../src/profiles/registry-profile-source.js';
import { NatsRegistryReader } from '../src/profiles/registry-reader.js';
import { FakeUpstream, placeholdersIn } from './fake-upstream.js';

const silent = createLogger({ service: 'detector-rebuild-test', level: 'silent' });
/**
 * Enough for a build that takes a noticeable part of a second, small enough for a quick test;
 * ORGMESH_TEST_REBUILD_PEOPLE=100000 measures the README's figures.
 */
const PEOPLE = Number(process.env['ORGMESH_TEST_REBUILD_PEOPLE'] ?? 20_000);

const SYLLABLES = [
  'ka',
  'lo',
  'mer',
  'vin',
  'tha',
  'ros',
  'dal',
  'quen',
  'bri',
  'zor',
  'fen',
  'gal',
  'hul',
  'jor',
];
/** A made-up, name-shaped full name, distinct per index, so only the directory can know it. */
function personName(i: number): { name: string; email: string } {
  const s = (n: number) => SYLLABLES[n % SYLLABLES.length]!;
  const cap = (word: string) => word[0]!.toUpperCase() + word.slice(1);
  const first = cap(s(i) + s(Math.floor(i / 14)) + 'a');
  const last = cap(s(Math.floor(i / 196)) + s(Math.floor(i / 2744)) + s(Math.floor(i / 38416)) + 'son');
  return { name: `${first} ${last}`, email: `${first}.${last}.${i}@acme.example`.toLowerCase() };
}

function orgChart(people: number): string {
  const lines = ['user_id,reports_to_id,name,role,email,department'];
  for (let i = 1; i <= people; i++) {
    const { name, email } = personName(i);
    const manager = i === 1 ? '' : `u-${String(Math.floor(i / 10) || 1).padStart(6, '0')}`;
    lines.push(`u-${String(i).padStart(6, '0')},${manager},${name},finance,${email},Finance`);
  }
  return `${lines.join('\n')}\n`;
}

const REGISTRY_FILES: RegistrySourceFile[] = [
  {
    path: 'roles.yaml',
    content: 'roles:\n  - { id: finance, display_name: Finance, description: Budgets. }\n',
  },
  {
    path: 'profiles/finance.yaml',
    // names: false — a name can only be caught through the directory.
    content:
      'id: finance\nrole: finance\ndefault: true\nproviders: [{ name: openai }]\nprivacy:\n  mode: mask\n  names: false\n',
  },
];

/**
 * The real builder, which the test can hold back: while `held`, an index build waits before it starts,
 * so the test knows a rebuild is under way when it sends its request.
 */
function holdableBuilder() {
  const real = indexedDetectorBuilder();
  let release: (() => void) | undefined;
  let held: Promise<void> | undefined;
  const buildMs: number[] = [];
  const builder: DetectorBuilder = {
    async index(directory: Directory) {
      if (held) await held;
      const started = performance.now();
      const index = await real.index(directory);
      buildMs.push(Math.round(performance.now() - started));
      return index;
    },
    detector: (profile, index) => real.detector(profile, index as never),
  };
  return {
    builder,
    buildMs,
    hold: () => {
      held = new Promise<void>((resolve) => (release = resolve));
    },
    release: () => {
      held = undefined;
      release?.();
    },
  };
}

describe('a new org directory is indexed while the previous one serves', () => {
  let ctx: TestContext;
  let registry: RegistryApp;
  let admin: MessageBus;
  let proxyBus: MessageBus;
  let source: RegistryProfileSource;
  let upstream: FakeUpstream;
  let issuer: LocalIssuer;
  let proxy: PrivacyProxy;
  let url: string;
  const builds = holdableBuilder();
  const figures: Record<string, number> = {};

  const chat = async (content: string): Promise<{ status: number; upstream: string; ms: number }> => {
    const token = await issuer.sign({
      sub: 'finance-agent',
      role: 'finance',
      tenant: 'acme',
      scope: 'orgmesh:agent',
    });
    const started = performance.now();
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content }] }),
    });
    await response.text();
    return {
      status: response.status,
      upstream: upstream.last.body,
      ms: Math.round(performance.now() - started),
    };
  };
  const detectorStatus = async (): Promise<DetectorStatus> =>
    ((await (await fetch(`${url}/readyz`)).json()) as { details: { detector: DetectorStatus } }).details
      .detector;

  beforeAll(async () => {
    // As main.ts does at start: the names lexicon (process-wide, ~1 s) is not part of a directory's build.
    preloadNamesLexicon();
    ctx = await createTestContext();
    const bus = (name: string) =>
      connectBus({
        url: ctx.natsUrl,
        name,
        subjectPrefix: ctx.subjectPrefix,
        nameSuffix: ctx.nameSuffix,
        logger: silent,
      });
    // The registry as its own tests start it, with no directory loaded: each test loads its own.
    registry = await startTestRegistry(ctx, { overrides: { REGISTRY_DIR: '' } });
    admin = await bus('registry-admin');
    await admin.request(LoadRegistry, { files: REGISTRY_FILES });
    proxyBus = await bus('privacy-proxy');
    source = new RegistryProfileSource(new NatsRegistryReader(proxyBus, 10_000), silent, { ttlMs: 60_000 });
    source.start();
    upstream = await FakeUpstream.start();
    issuer = await LocalIssuer.create({ issuer: 'urn:orgmesh:test', audience: 'orgmesh' });
    proxy = createPrivacyProxy({
      openai: { url: upstream.openaiUrl, key: 'sk-upstream-openai-secret' },
      verifier: JoseTokenVerifier.fromLocalJwks(issuer.jwks, {
        issuer: issuer.issuer,
        audience: issuer.audience,
      }),
      profiles: source,
      hmacKey: 'integration-test-hmac-key-0123456789abcdef',
      audit: new RecordingAuditSink(),
      logger: silent,
      detectorBuilder: builds.builder,
    });
    url = await proxy.listen(0);
  }, 120_000);

  afterAll(async () => {
    console.log(
      `detector rebuild (${PEOPLE} people): ${JSON.stringify({ ...figures, buildMs: builds.buildMs })}`,
    );
    builds.release();
    source?.stop();
    await proxy?.close();
    await upstream?.close();
    await admin?.close();
    await proxyBus?.close();
    await registry?.close();
    await ctx?.dispose();
  });

  it('answers during a rebuild at once with the old directory, and with the new one once it is built', async () => {
    const known = personName(PEOPLE - 1);
    const newcomer = personName(PEOPLE + 1);
    builds.hold();
    const first = await importOver(admin, orgChart(PEOPLE), 'org-v1.csv', undefined);

    // Not ready while the very first build runs (a call now would have to wait for it): the load
    // balancer sends no calls yet. Ready once it is built.
    const readyz = async () => {
      const response = await fetch(`${url}/readyz`);
      return {
        status: response.status,
        detector: ((await response.json()) as { details: { detector: DetectorStatus } }).details.detector,
      };
    };
    expect(await readyz()).toEqual({
      status: 503,
      detector: { building: { orgVersion: first.orgVersion, people: PEOPLE, seconds: expect.any(Number) } },
    });
    builds.release();
    await expectEventually(async () => expect((await readyz()).status).toBe(200), {
      timeoutMs: 60_000,
      intervalMs: 100,
    });

    const firstCall = await chat(`Please ask ${known.name} about the Q3 budget.`);
    figures['firstCallAfterReadyMs'] = firstCall.ms;
    expect(firstCall.status).toBe(200);
    expect(firstCall.upstream).not.toContain(known.name);
    expect(await detectorStatus()).toEqual({ inUse: { orgVersion: first.orgVersion, people: PEOPLE } });

    // The next import: its announcement alone starts the rebuild (no request needed), held here.
    builds.hold();
    const second = await importOver(admin, orgChart(PEOPLE + 1), 'org-v2.csv', undefined);
    expect(second.orgVersion).toBeGreaterThan(first.orgVersion);
    await expectEventually(
      async () =>
        expect(await detectorStatus()).toMatchObject({
          inUse: { orgVersion: first.orgVersion, people: PEOPLE },
          building: { orgVersion: second.orgVersion, people: PEOPLE + 1 },
        }),
      { timeoutMs: 30_000, intervalMs: 50 },
    );

    // While the build cannot finish, a call is answered (it would hang here if it waited), masked with
    // the previous directory: the person it knows is masked, the newcomer not yet.
    const during = await chat(`Ask ${known.name} and ${newcomer.name} about the Q3 budget.`);
    figures['duringRebuildCallMs'] = during.ms;
    expect(during.status).toBe(200);
    expect(during.upstream).not.toContain(known.name);
    expect(during.upstream).toContain(newcomer.name);
    expect(await detectorStatus()).toMatchObject({ inUse: { orgVersion: first.orgVersion } });

    builds.release();
    await expectEventually(
      async () =>
        expect(await detectorStatus()).toEqual({
          inUse: { orgVersion: second.orgVersion, people: PEOPLE + 1 },
        }),
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const after = await chat(`Ask ${newcomer.name} (${newcomer.email}) about the Q3 budget.`);
    figures['afterSwapCallMs'] = after.ms;
    expect(after.status).toBe(200);
    expect(after.upstream).not.toContain(newcomer.name);
    expect(after.upstream).not.toContain(newcomer.email);
    expect(placeholdersIn(after.upstream).length).toBeGreaterThanOrEqual(2);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^orgmesh_privacy_detector_build_seconds_count\{[^}]*outcome="ok"[^}]*\} 2$/m);
    expect(metrics).toMatch(
      new RegExp(`^orgmesh_privacy_detector_org_version(\\{[^}]*\\})? ${second.orgVersion}$`, 'm'),
    );
    expect(metrics).toMatch(/^orgmesh_privacy_detector_building(\{[^}]*\})? 0$/m);
  }, 300_000);

  it('keeps answering while a build runs for real (it yields to the event loop between chunks)', async () => {
    const known = personName(PEOPLE - 2);
    const third = await importOver(admin, orgChart(PEOPLE + 2), 'org-v3.csv', undefined);
    await expectEventually(
      async () => expect((await detectorStatus()).building?.orgVersion).toBe(third.orgVersion),
      { timeoutMs: 30_000, intervalMs: 20 },
    );
    // Calls one after another for as long as the build runs: each is masked with the directory in use.
    const during: number[] = [];
    while ((await detectorStatus()).building) {
      const call = await chat(`Please ask ${known.name} about the Q3 budget.`);
      expect(call.status).toBe(200);
      expect(call.upstream).not.toContain(known.name);
      during.push(call.ms);
    }
    figures['callsDuringRealBuild'] = during.length;
    // At least one call ran while the build did (it takes hundreds of milliseconds even for 20k people).
    expect(during.length).toBeGreaterThan(0);
    figures['slowestCallDuringRealBuildMs'] = Math.max(0, ...during);
    figures['medianCallDuringRealBuildMs'] =
      [...during].sort((a, b) => a - b)[Math.floor(during.length / 2)] ?? 0;
    expect(await detectorStatus()).toEqual({ inUse: { orgVersion: third.orgVersion, people: PEOPLE + 2 } });
  }, 300_000);
});
