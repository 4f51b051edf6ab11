import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LoadRegistry, type RegistrySourceFile } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
// The real registry service and its importer, in-process against this test's database and NATS
// namespace: the proxy reads it over NATS exactly as in production (tests only).
import { importOver, type RegistryApp, startTestRegistry } from '@orgmesh/registry/testing';
import { RegistryProfileSource } from '../src/profiles/registry-profile-source.js';
import { NatsRegistryReader } from '../src/profiles/registry-reader.js';
import { placeholdersIn } from './fake-upstream.js';
import { startHarness, type Harness } from './proxy-harness.js';

const silent = createLogger({ service: 'directory-at-scale-test', level: 'silent' });
const PEOPLE = 100_000;

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
  'nim',
  'pav',
];
/** A made-up but name-shaped full name, distinct per index, so only the directory can know it. */
function personName(i: number): { name: string; email: string } {
  const s = (n: number) => SYLLABLES[n % SYLLABLES.length]!;
  const cap = (word: string) => word[0]!.toUpperCase() + word.slice(1);
  const first = cap(s(i) + s(i >> 4) + 'a');
  const last = cap(s(i >> 8) + s(i >> 12) + s(i >> 16) + 'son');
  return { name: `${first} ${last}`, email: `${first}.${last}.${i}@acme.example`.toLowerCase() };
}

function orgChart(): string {
  const lines = ['user_id,reports_to_id,name,role,email,department'];
  for (let i = 1; i <= PEOPLE; i++) {
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

function chat(h: Harness, token: string, content: string): Promise<Response> {
  return fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content }] }),
  });
}

describe('an org of 100,000 people reaches the privacy proxy', () => {
  let ctx: TestContext;
  let registry: RegistryApp | undefined;
  let admin: MessageBus;
  let proxyBus: MessageBus;
  let source: RegistryProfileSource;
  let h: Harness;
  const figures: Record<string, number> = {};

  beforeAll(async () => {
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
    // A short TTL and retry pause, so the test sees the registry's absence within seconds.
    source = new RegistryProfileSource(new NatsRegistryReader(proxyBus, 10_000), silent, {
      ttlMs: 1_000,
      retryAfterMs: 200,
    });
    source.start();
    h = await startHarness({}, { profiles: source });
  }, 120_000);

  afterAll(async () => {
    console.log(`directory at scale (${PEOPLE} people): ${JSON.stringify(figures)}`);
    source?.stop();
    await h?.close();
    await admin?.close();
    await proxyBus?.close();
    await registry?.close();
    await ctx?.dispose();
  });

  it('imports in parts, and the proxy masks the name and email of person #99,999', async () => {
    const csv = orgChart();
    figures['csvBytes'] = Buffer.byteLength(csv);
    let started = performance.now();
    const imported = await importOver(admin, csv, 'org-100k.csv', undefined);
    figures['importMs'] = Math.round(performance.now() - started);
    expect(imported.users).toBe(PEOPLE);

    started = performance.now();
    const directory = await source.getDirectory();
    figures['directoryLoadMs'] = Math.round(performance.now() - started);
    expect(directory.people).toHaveLength(PEOPLE);

    const person = personName(99_999);
    const token = await h.token('finance');
    started = performance.now();
    const response = await chat(h, token, `Please ask ${person.name} (${person.email}) about the Q3 budget.`);
    figures['firstMaskedCallMs'] = Math.round(performance.now() - started);
    expect(response.status).toBe(200);
    await response.text();
    const upstream = h.upstream.last.body;
    expect(upstream).not.toContain(person.name);
    expect(upstream).not.toContain(person.email);
    expect(placeholdersIn(upstream).length).toBeGreaterThanOrEqual(2);
    started = performance.now();
    await (await chat(h, token, `Ask ${person.name} again.`)).text();
    figures['secondMaskedCallMs'] = Math.round(performance.now() - started);

    const ready = (await (await fetch(`${h.url}/readyz`)).json()) as { details: { directory: unknown } };
    expect(ready.details.directory).toMatchObject({
      loaded: true,
      stale: false,
      people: PEOPLE,
      orgVersion: imported.orgVersion,
    });
  }, 600_000);

  it('with the registry down, keeps masking with the last dictionary and says it is stale', async () => {
    await registry?.close();
    registry = undefined;
    await expectEventually(
      async () => {
        const ready = (await (await fetch(`${h.url}/readyz`)).json()) as {
          details: { directory: { stale: boolean } };
        };
        expect(ready.details.directory).toMatchObject({ loaded: true, stale: true, people: PEOPLE });
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/^orgmesh_privacy_directory_stale(\{[^}]*\})? 1$/m);
    expect(metrics).toMatch(/^orgmesh_privacy_directory_people(\{[^}]*\})? 100000$/m);
    const age = Number(/^orgmesh_privacy_directory_age_seconds(\{[^}]*\})? (\S+)$/m.exec(metrics)?.[2]);
    expect(age).toBeGreaterThan(0);

    const person = personName(99_999);
    const response = await chat(
      h,
      await h.token('finance'),
      `Forward this to ${person.name} at ${person.email}.`,
    );
    expect(response.status).toBe(200);
    await response.text();
    expect(h.upstream.last.body).not.toContain(person.name);
    expect(h.upstream.last.body).not.toContain(person.email);
  }, 180_000);
});
