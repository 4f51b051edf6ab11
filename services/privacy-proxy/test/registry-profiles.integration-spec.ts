import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ImportOrg,
  LoadRegistry,
  type GetProfile,
  type RegistrySourceFile,
  type RpcResponse,
} from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { Detector } from '@orgmesh/privacy';
import { createLogger } from '@orgmesh/telemetry';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
// The real registry service, in-process against this test's Postgres database and NATS namespace:
// the proxy reads it over NATS exactly as in production (tests only; the proxy never imports it).
import { type RegistryApp, startTestRegistry } from '@orgmesh/registry/testing';
import { RegistryProfileSource } from '../src/profiles/registry-profile-source.js';
import { NatsRegistryReader, type RegistryReader } from '../src/profiles/registry-reader.js';
import { placeholdersIn } from './fake-upstream.js';
import { startHarness, type Harness } from './proxy-harness.js';

const silent = createLogger({ service: 'privacy-proxy-registry-test', level: 'silent' });

/** A person of the org chart only the directory knows: no context cue marks the name as one. */
const PERSON = { name: 'Marisol Okonkwo', email: 'marisol.okonkwo@acme.example' };
const DENIED = 'Project Nightjar';
/** A term the finance profile denies only after the change published mid-test. */
const DENIED_LATER = 'Project Kestrel';

const roles = `roles:
  - { id: finance, display_name: Finance, description: Budgets. }
  - { id: legal, display_name: Legal, description: Contracts. }
`;

function financeProfile(denyList: string[]): string {
  return `id: finance
role: finance
default: true
providers: [{ name: openai }]
privacy:
  mode: mask
  entities: { ip_address: detect }
  deny_list: [${denyList.join(', ')}]
  names: false
`;
}

const legalProfile = `id: legal
role: legal
providers: [{ name: openai }]
privacy:
  mode: strict
`;

/** Finance's other profile: agents of the role the registry runs under it are refused, not masked. */
const financeStrictProfile = `id: finance-strict
role: finance
default: false
providers: [{ name: openai }]
privacy:
  mode: strict
`;

/** The one declared agent; finance tokens of any other subject are no registry agent. */
const AUDITOR = 'finance-auditor-agent';

function auditorAgent(profile: string | null): string {
  return `id: ${AUDITOR}
role: finance
${profile ? `profile: ${profile}\n` : ''}display_name: Finance Auditor
model: { provider: openai, name: gpt-4o-mini }
`;
}

/** `auditorProfile`: the profile the auditor agent names (null: the role's default), or no auditor. */
function registryFiles(
  financeDenyList: string[],
  auditorProfile: string | null | 'absent' = 'finance-strict',
): RegistrySourceFile[] {
  return [
    { path: 'roles.yaml', content: roles },
    { path: 'profiles/finance.yaml', content: financeProfile(financeDenyList) },
    { path: 'profiles/finance-strict.yaml', content: financeStrictProfile },
    { path: 'profiles/legal.yaml', content: legalProfile },
    ...(auditorProfile === 'absent'
      ? []
      : [{ path: `agents/${AUDITOR}.yaml`, content: auditorAgent(auditorProfile) }]),
  ];
}

const ORG_CHART = `user_id,reports_to_id,name,role,email,department
u-1001,,${PERSON.name},finance,${PERSON.email},Finance
u-1002,u-1001,Rosa Adeyemi,legal,rosa.adeyemi@acme.example,Legal
`;

function chat(h: Harness, token: string, content: string): Promise<Response> {
  return fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content }] }),
  });
}

function answerOf(body: unknown): string {
  return (body as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content;
}

/** Changes one signed field of every profile the registry sends, keeping the signature. */
function tampering(inner: RegistryReader): RegistryReader {
  return {
    getDirectory: () => inner.getDirectory(),
    getAgent: (agentId) => inner.getAgent(agentId),
    watch: (listener) => inner.watch(listener),
    getProfile: async (role) => forge(await inner.getProfile(role)),
    getProfileById: async (profileId) => forge(await inner.getProfileById(profileId)),
  };
  function forge(answer: RpcResponse<typeof GetProfile>): RpcResponse<typeof GetProfile> {
    const [header, payload, signature] = answer.jws.split('.');
    const published = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as {
      profile: { privacy: { mode: string } };
    };
    published.profile.privacy.mode = 'off';
    const forged = Buffer.from(JSON.stringify(published)).toString('base64url');
    return {
      ...answer,
      profile: { ...answer.profile, privacy: { ...answer.profile.privacy, mode: 'off' } },
      jws: `${header}.${forged}.${signature}`,
    };
  }
}

describe('privacy proxy with role profiles and the directory from the registry', () => {
  let ctx: TestContext;
  let registry: RegistryApp | undefined;
  let admin: MessageBus;
  let proxyBus: MessageBus;
  let source: RegistryProfileSource;
  let h: Harness;
  const extra: Array<{ source: RegistryProfileSource; harness: Harness }> = [];

  async function proxyWith(reader: RegistryReader, now?: () => number): Promise<Harness> {
    const other = new RegistryProfileSource(reader, silent, { ttlMs: 600_000, ...(now ? { now } : {}) });
    other.start();
    const harness = await startHarness({}, { profiles: other });
    extra.push({ source: other, harness });
    return harness;
  }

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
    await admin.request(LoadRegistry, { files: registryFiles([DENIED]) });
    await admin.request(ImportOrg, { csv: ORG_CHART, fileName: 'org-chart.csv' }, { timeoutMs: 30_000 });
    proxyBus = await bus('privacy-proxy');
    // A long TTL: whatever changes during the test reaches the proxy through the registry's events.
    source = new RegistryProfileSource(new NatsRegistryReader(proxyBus, 2_000), silent, { ttlMs: 600_000 });
    source.start();
    h = await startHarness({}, { profiles: source });
  });

  afterAll(async () => {
    for (const { source: other, harness } of extra) {
      other.stop();
      await harness.close();
    }
    source?.stop();
    await h?.close();
    await proxyBus?.close();
    await admin?.close();
    await registry?.close();
    await ctx?.dispose();
  });

  it("masks a person known only from the registry's directory and the profile's deny list, and restores both", async () => {
    const text = `Send the Q1 numbers to ${PERSON.name} before the ${DENIED} review.`;
    // The finance profile switches the free-text names recogniser off (names: false, from the
    // registry), so without the directory nothing would mark the name: the registry is what protects it.
    expect(Detector.forProfile({ mode: 'mask', names: false }, { people: [] }).detect(text)).toEqual([]);

    const response = await chat(h, await h.token('finance'), text);
    expect(response.status).toBe(200);
    const upstream = h.upstream.last.body;
    expect(upstream).not.toContain(PERSON.name);
    expect(upstream).not.toContain(DENIED);
    expect(placeholdersIn(upstream)).toHaveLength(2);
    const answer = answerOf(await response.json());
    expect(answer).toContain(PERSON.name);
    expect(answer).toContain(DENIED);
    expect(h.audit.events.at(-1)).toMatchObject({
      role: 'finance',
      mode: 'mask',
      counts: { person: 1, deny_list: 1 },
    });
  });

  it("follows the registry profile's names switch: with names: false a name outside the directory goes out as written", async () => {
    // Issue 19: the switch is the profile's; finance's says false (financeProfile), so only the
    // directory and the cue rules mark people for it.
    const response = await chat(h, await h.token('finance'), 'Send the Q1 numbers to Chukwuemeka Adeyemi.');
    expect(response.status).toBe(200);
    expect(h.upstream.last.body).toContain('Chukwuemeka Adeyemi');
  });

  it("refuses a strict role's request naming the entity types, and nothing goes upstream", async () => {
    const before = h.upstream.requests.length;
    const response = await chat(h, await h.token('legal'), `Draft a letter to ${PERSON.email}.`);
    expect(response.status).toBe(422);
    const body = (await response.json()) as { error: { code: string; entity_types: string[] } };
    expect(body.error).toMatchObject({ code: 'privacy_strict_refused', entity_types: ['email'] });
    expect(h.upstream.requests.length).toBe(before);
  });

  it('applies a profile change published in the registry within seconds, without waiting for the cache TTL', async () => {
    const finance = await h.token('finance');
    const text = `Budget for ${DENIED_LATER}.`;
    const before = await chat(h, finance, text);
    expect(before.status).toBe(200);
    await before.text();
    expect(h.upstream.last.body).toContain(DENIED_LATER);

    const changed = await admin.request(LoadRegistry, { files: registryFiles([DENIED, DENIED_LATER]) });
    expect(changed.changed).toBe(true);
    const published = Date.now();
    await expectEventually(
      async () => {
        const response = await chat(h, finance, text);
        expect(response.status).toBe(200);
        await response.text();
        expect(h.upstream.last.body).not.toContain(DENIED_LATER);
      },
      { timeoutMs: 5_000 },
    );
    // Well inside the TTL of ten minutes: the registry's event did it.
    expect(Date.now() - published).toBeLessThan(5_000);
  });

  it('masks an agent with the profile the registry runs it under, and follows the registry when that changes', async () => {
    const auditor = await h.token('finance', { sub: AUDITOR });
    const colleague = await h.token('finance');
    const text = `Draft a letter to ${PERSON.email}.`;
    /** The auditor's request: 422 while it runs under finance-strict, masked under the role's default. */
    const expectAuditor = async (outcome: 'refused' | 'masked') => {
      const before = h.upstream.requests.length;
      const response = await chat(h, auditor, text);
      if (outcome === 'refused') {
        expect(response.status).toBe(422);
        const body = (await response.json()) as { error: { code: string; entity_types: string[] } };
        expect(body.error).toMatchObject({ code: 'privacy_strict_refused', entity_types: ['email'] });
        expect(h.upstream.requests.length).toBe(before);
      } else {
        expect(response.status).toBe(200);
        expect(answerOf(await response.json())).toContain(PERSON.email);
        expect(h.upstream.requests.length).toBe(before + 1);
        expect(h.upstream.last.body).not.toContain(PERSON.email);
      }
    };
    const load = async (auditorProfile: string | null | 'absent') => {
      const loaded = await admin.request(LoadRegistry, {
        files: registryFiles([DENIED, DENIED_LATER], auditorProfile),
      });
      expect(loaded.changed).toBe(true);
    };

    // The same role, two profiles: the registry names the auditor's, every other finance caller gets the default.
    await expectAuditor('refused');
    const masked = await chat(h, colleague, text);
    expect(masked.status).toBe(200);
    await masked.text();
    expect(h.upstream.last.body).not.toContain(PERSON.email);

    // registry.v1.agent-updated (changed: profile), under a ten-minute TTL: the event does it.
    const started = Date.now();
    await load(null);
    await expectEventually(() => expectAuditor('masked'), { timeoutMs: 5_000 });
    await load('finance-strict');
    await expectEventually(() => expectAuditor('refused'), { timeoutMs: 5_000 });
    // registry.v1.agent-removed: no longer an agent, so the role's default.
    await load('absent');
    await expectEventually(() => expectAuditor('masked'), { timeoutMs: 5_000 });
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('refuses with 503 unavailable when the signed profile was tampered with, and sends nothing upstream', async () => {
    const forged = await proxyWith(tampering(new NatsRegistryReader(proxyBus, 2_000)));
    const response = await chat(forged, await forged.token('finance'), `Call ${PERSON.name}.`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('unavailable');
    expect(JSON.stringify(body)).not.toContain(PERSON.name);
    expect(forged.upstream.requests).toHaveLength(0);
  });

  it('with the registry gone: 503 unavailable where nothing is cached, the cached profile and directory after their TTL where they are', async () => {
    const clock = { now: Date.now() };
    const warm = await proxyWith(new NatsRegistryReader(proxyBus, 1_000), () => clock.now);
    const warmToken = await warm.token('finance');
    expect((await chat(warm, warmToken, `Call ${PERSON.name}.`)).status).toBe(200);

    await registry!.close();
    registry = undefined;

    const cold = await proxyWith(new NatsRegistryReader(proxyBus, 1_000));
    const refused = await chat(cold, await cold.token('finance'), `Call ${PERSON.name}.`);
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('unavailable');
    expect(cold.upstream.requests).toHaveLength(0);
    expect((await fetch(`${cold.url}/readyz`)).status).toBe(503);

    // Past the TTL the warm proxy asks the registry again, gets no answer, and keeps masking with
    // the verified profile and the directory it holds.
    clock.now += 600_001;
    const served = await chat(warm, warmToken, `Call ${PERSON.name} about ${DENIED_LATER}.`);
    expect(served.status).toBe(200);
    expect(answerOf(await served.json())).toContain(PERSON.name);
    expect(warm.upstream.last.body).not.toContain(PERSON.name);
    expect(warm.upstream.last.body).not.toContain(DENIED_LATER);
    expect((await fetch(`${warm.url}/readyz`)).status).toBe(200);
  });
});
