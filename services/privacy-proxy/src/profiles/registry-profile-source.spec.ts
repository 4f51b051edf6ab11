import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { CryptoKey, JWK } from 'jose';
import { createProfileSigningKey, signProfile } from '@orgmesh/auth';
import {
  AppError,
  type PrivacySettings,
  type RegistryAgent,
  type RoleProfile,
  type RpcResponse,
} from '@orgmesh/contracts';
import type { GetAgent, GetDirectory, GetProfile } from '@orgmesh/contracts';
import { createLogger } from '@orgmesh/telemetry';
import {
  RegistryProfileSource,
  toPrivacyProfile,
  type RegistryProfileSourceOptions,
} from './registry-profile-source.js';
import type { RegistryChange, RegistryReader } from './registry-reader.js';

const KID = 'registry-test-key';
let signingKey: { privateKey: CryptoKey; publicJwk: JWK };
let strangerKey: { privateKey: CryptoKey; publicJwk: JWK };

beforeAll(async () => {
  signingKey = await createProfileSigningKey(KID);
  strangerKey = await createProfileSigningKey(KID);
});

function roleProfile(role: string, privacy: Partial<PrivacySettings>, id = role): RoleProfile {
  return {
    id,
    role,
    isDefault: true,
    description: '',
    providers: [{ name: 'openai', models: [] }],
    privacy: {
      mode: 'mask',
      entities: {},
      customPatterns: [],
      denyList: [],
      employeeIdPattern: null,
      ...privacy,
    },
    mesh: { sendTaskTo: [], requestApprovalFrom: [], notify: [] },
    tools: [],
    extensions: [],
    hints: '',
  };
}

/** A profile of `role` that is not its default (agents and users run under it when named or assigned). */
function otherProfile(id: string, role: string, privacy: Partial<PrivacySettings>): RoleProfile {
  return { ...roleProfile(role, privacy, id), isDefault: false };
}

function registryAgent(id: string, role: string, profile: string | null): RegistryAgent {
  return {
    id,
    role,
    profile,
    displayName: id,
    description: '',
    model: { provider: 'openai', name: 'gpt-4o-mini' },
    tools: [],
    delegatesTo: [],
    cannotAccess: [],
    exclusiveAccess: [],
    responsibilities: [],
    forbidden: [],
  };
}

/** The registry's side of the RPCs, signing with a real key, and its change announcements. */
class FakeRegistry implements RegistryReader {
  /** Default profiles by role. */
  readonly published = new Map<string, { profile: RoleProfile; version: number }>();
  readonly byId = new Map<string, { profile: RoleProfile; version: number }>();
  /** Declared agents: role and named profile (null: the role's default), with the version that declared them. */
  readonly agents = new Map<string, { role: string; profile: string | null; version: number }>();
  people: Array<{ userId: string; name: string; email: string; department: string }> = [
    { userId: 'u-1001', name: 'Jane Doe', email: 'jane.doe@acme.example', department: 'Finance' },
  ];
  orgVersion = 1;
  down = false;
  calls = { profile: 0, directory: 0, profileById: 0, agent: 0 };
  private readonly waiters: Array<{ reached: () => boolean; resolve: () => void }> = [];
  /** Answers get-agent with this profile id whatever the agent runs under (an unsigned lie on the bus). */
  agentProfileOverride: string | undefined;
  /** Rewrites the signed profile on its way (a tampering peer). */
  tamper: ((jws: string) => string) | undefined;
  signWith: { privateKey: CryptoKey } | undefined;
  /** Answers with this (signed) profile whatever role was asked. */
  answerWith: { profile: RoleProfile; version: number } | undefined;
  private listener: ((change: RegistryChange) => void) | undefined;

  publish(profile: RoleProfile, version: number): void {
    if (profile.isDefault) this.published.set(profile.role, { profile, version });
    this.byId.set(profile.id, { profile, version });
  }

  declare(agentId: string, role: string, profile: string | null, version: number): void {
    this.agents.set(agentId, { role, profile, version });
  }

  announce(change: RegistryChange): void {
    this.listener?.(change);
  }

  /**
   * Resolves once the registry has been asked `count` times in all for `kind`: for a read the source
   * makes in the background after another answer (an agent's profile after the agent). No timer: a
   * read that never comes leaves the test to fail on jest's timeout.
   */
  reached(kind: keyof FakeRegistry['calls'], count: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter = { reached: () => this.calls[kind] >= count, resolve };
      if (waiter.reached()) resolve();
      else this.waiters.push(waiter);
    });
  }

  private asked(kind: keyof FakeRegistry['calls']): void {
    this.calls[kind]++;
    for (const waiter of this.waiters.filter((w) => w.reached())) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  async getProfile(role: string): Promise<RpcResponse<typeof GetProfile>> {
    this.asked('profile');
    if (this.down) throw new AppError('unavailable', 'no responders');
    const entry = this.answerWith ?? this.published.get(role);
    if (!entry) throw new AppError('profile_not_found', `no profile for role "${role}"`);
    return this.signed(entry);
  }

  async getProfileById(profileId: string): Promise<RpcResponse<typeof GetProfile>> {
    this.asked('profileById');
    if (this.down) throw new AppError('unavailable', 'no responders');
    const entry = this.answerWith ?? this.byId.get(profileId);
    if (!entry) throw new AppError('profile_not_found', `unknown profile "${profileId}"`);
    return this.signed(entry);
  }

  async getAgent(agentId: string): Promise<RpcResponse<typeof GetAgent>> {
    this.asked('agent');
    if (this.down) throw new AppError('timeout', 'rpc.registry.v1.get-agent timed out');
    const agent = this.agents.get(agentId);
    if (!agent) throw new AppError('agent_not_found', `unknown agent "${agentId}"`);
    const profileId =
      this.agentProfileOverride ?? agent.profile ?? this.published.get(agent.role)?.profile.id;
    if (!profileId) throw new Error(`test setup: role ${agent.role} has no default profile`);
    return {
      agent: registryAgent(agentId, agent.role, agent.profile),
      profileId,
      presence: { online: false, lastSeenAt: null, reportedConfigHash: null, drift: false },
      expectedConfigHashes: {},
      version: agent.version,
    };
  }

  private async signed(entry: {
    profile: RoleProfile;
    version: number;
  }): Promise<RpcResponse<typeof GetProfile>> {
    const jws = await signProfile(
      { profile: entry.profile, version: entry.version, publishedAt: '2026-01-05T10:00:00.000Z' },
      (this.signWith ?? signingKey).privateKey,
      KID,
    );
    return {
      profile: entry.profile,
      version: entry.version,
      jws: this.tamper ? this.tamper(jws) : jws,
      jwks: { keys: [signingKey.publicJwk as { kty: string; kid: string }] },
    };
  }

  async getDirectory(): Promise<RpcResponse<typeof GetDirectory>> {
    this.asked('directory');
    if (this.down) throw new AppError('timeout', 'rpc.registry.v1.directory timed out');
    return { people: this.people, orgVersion: this.orgVersion, version: 1 };
  }

  watch(listener: (change: RegistryChange) => void): () => void {
    this.listener = listener;
    return () => (this.listener = undefined);
  }
}

function newTestSource(options: Partial<RegistryProfileSourceOptions> = {}) {
  const registry = new FakeRegistry();
  registry.publish(
    roleProfile('finance', { denyList: ['Project Nightjar'], entities: { ip_address: 'detect' } }),
    1,
  );
  registry.publish(roleProfile('legal', { mode: 'strict' }), 1);
  const clock = { now: 1_000_000 };
  const logs: string[] = [];
  const logger = createLogger({
    service: 'privacy-proxy',
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString('utf8'));
        done();
      },
    }),
  });
  const source = new RegistryProfileSource(registry, logger, {
    ttlMs: 60_000,
    now: () => clock.now,
    ...options,
  });
  source.start();
  return { registry, source, clock, logs };
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('RegistryProfileSource', () => {
  it("serves the verified profile's privacy section and the directory, the same objects while nothing changed", async () => {
    const { registry, source } = newTestSource();
    const finance = await source.getProfile('finance');
    expect(finance).toEqual({
      mode: 'mask',
      entities: { ip_address: 'detect' },
      customPatterns: [],
      denyList: ['Project Nightjar'],
      employeeIdPattern: null,
    });
    expect(await source.getProfile('legal')).toMatchObject({ mode: 'strict' });
    expect(await source.getProfile('finance')).toBe(finance);
    const directory = await source.getDirectory();
    expect(directory.people).toEqual([
      { name: 'Jane Doe', email: 'jane.doe@acme.example', userId: 'u-1001' },
    ]);
    expect(await source.getDirectory()).toBe(directory);
    expect(registry.calls).toMatchObject({ profile: 2, directory: 1 });
  });

  it('maps custom patterns with and without their own action', async () => {
    const { registry, source } = newTestSource();
    registry.publish(
      roleProfile('sales', {
        customPatterns: [
          { name: 'case-number', pattern: 'CASE-\\d{4}', action: 'strict' },
          { name: 'invoice-number', pattern: 'INV-\\d{6}' },
        ],
        employeeIdPattern: 'EMP-\\d{6}',
      }),
      3,
    );
    expect(await source.getProfile('sales')).toMatchObject({
      customPatterns: [
        { name: 'case-number', pattern: 'CASE-\\d{4}', action: 'strict' },
        { name: 'invoice-number', pattern: 'INV-\\d{6}', action: undefined },
      ],
      employeeIdPattern: 'EMP-\\d{6}',
    });
  });

  it('takes a published change at once and keeps the object when the privacy section did not change', async () => {
    const { registry, source } = newTestSource();
    const before = await source.getProfile('finance');
    // Published again with other hints only: the same privacy settings, the same object.
    registry.publish(
      {
        ...roleProfile('finance', { denyList: ['Project Nightjar'], entities: { ip_address: 'detect' } }),
        hints: 'new',
      },
      2,
    );
    registry.announce({ kind: 'profile', role: 'finance', profileId: 'finance', version: 2 });
    // Asked at once, off the request path (the source's refresh starts with the announcement) …
    expect(registry.calls.profile).toBe(2);
    // … and a read while it runs waits for that answer instead of asking again.
    expect(await source.getProfile('finance')).toBe(before);
    expect(registry.calls.profile).toBe(2);

    registry.publish(roleProfile('finance', { mode: 'strict' }), 3);
    registry.announce({ kind: 'profile', role: 'legal', profileId: 'legal', version: 3 });
    // Another role's change (one never read): nothing is asked.
    expect(registry.calls.profile).toBe(2);
    expect(await source.getProfile('finance')).toBe(before);
    registry.announce({ kind: 'profile', role: 'finance', profileId: 'finance', version: 3 });
    expect(registry.calls.profile).toBe(3);
    const after = await source.getProfile('finance');
    expect(registry.calls.profile).toBe(3);
    expect(after).not.toBe(before);
    expect(after).toMatchObject({ mode: 'strict' });
  });

  it('asks again while the registry answers from a version older than the announced change', async () => {
    const { registry, source, clock } = newTestSource({ ttlMs: 30_000 });
    const before = await source.getProfile('finance');
    // The event overtakes the answering replica: it still serves version 1.
    registry.announce({ kind: 'profile', role: 'finance', profileId: 'finance', version: 2 });
    expect(registry.calls.profile).toBe(2);
    // That refresh's answer: still version 1, served while the next read asks again.
    expect(await source.getProfile('finance')).toBe(before);
    expect(registry.calls.profile).toBe(2);
    expect(await source.getProfile('finance')).toBe(before);
    expect(registry.calls.profile).toBe(3);
    registry.publish(roleProfile('finance', { mode: 'strict' }), 2);
    expect(await source.getProfile('finance')).toMatchObject({ mode: 'strict' });
    expect(registry.calls.profile).toBe(4);
    await source.getProfile('finance');
    expect(registry.calls.profile).toBe(4);
    // A version that never comes (a registry rebuilt from scratch) is awaited for one TTL at most.
    registry.announce({ kind: 'profile', role: 'finance', profileId: 'finance', version: 99 });
    expect(registry.calls.profile).toBe(5);
    await source.getProfile('finance');
    expect(registry.calls.profile).toBe(5);
    clock.now += 31_000;
    await source.getProfile('finance');
    const calls = registry.calls.profile;
    await source.getProfile('finance');
    expect(registry.calls.profile).toBe(calls);
  });

  it('asks again after the TTL when no change was announced', async () => {
    const { registry, source, clock } = newTestSource({ ttlMs: 30_000 });
    const before = await source.getProfile('finance');
    clock.now += 29_000;
    await source.getProfile('finance');
    expect(registry.calls.profile).toBe(1);
    registry.publish(roleProfile('finance', { mode: 'detect' }), 2);
    clock.now += 2_000;
    const after = await source.getProfile('finance');
    expect(registry.calls.profile).toBe(2);
    expect(after).not.toBe(before);
    expect(after?.mode).toBe('detect');
  });

  it('refetches the directory per org version', async () => {
    const { registry, source } = newTestSource();
    const first = await source.getDirectory();
    registry.announce({ kind: 'org', orgVersion: 1 });
    expect(registry.calls.directory).toBe(2);
    expect(await source.getDirectory()).toBe(first);
    registry.people = [
      { userId: 'u-2002', name: 'Rosa Adeyemi', email: 'rosa@acme.example', department: 'Legal' },
    ];
    registry.orgVersion = 2;
    registry.announce({ kind: 'org', orgVersion: 2 });
    expect(registry.calls.directory).toBe(3);
    const second = await source.getDirectory();
    expect(second).not.toBe(first);
    expect(second.people.map((p) => p.name)).toEqual(['Rosa Adeyemi']);
    expect(registry.calls.directory).toBe(3);
  });

  it('gives roles without a registry profile the configured fallback, the same object every time', async () => {
    const fallback = { mode: 'mask' as const };
    const { registry, source } = newTestSource({ fallback });
    expect(await source.getProfile('auditor')).toBe(fallback);
    expect(await source.getProfile('auditor')).toBe(fallback);
    // Not a registry role id: not even asked.
    expect(await source.getProfile('Not A Role')).toBe(fallback);
    expect(registry.calls.profile).toBe(1);
    // The role gets a profile later: the announcement replaces the fallback.
    registry.publish(roleProfile('auditor', { mode: 'strict' }), 4);
    registry.announce({ kind: 'profile', role: 'auditor', profileId: 'auditor', version: 4 });
    expect(registry.calls.profile).toBe(2);
    expect(await source.getProfile('auditor')).toMatchObject({ mode: 'strict' });
    expect(registry.calls.profile).toBe(2);
  });

  it('without a fallback, a role the registry does not know has no profile', async () => {
    const { source } = newTestSource();
    expect(await source.getProfile('auditor')).toBeUndefined();
  });

  it('fails closed with unavailable when the registry does not answer and nothing is cached', async () => {
    const { registry, source } = newTestSource();
    registry.down = true;
    expect((await failure(source.getProfile('finance'))).code).toBe('unavailable');
    expect((await failure(source.getDirectory())).code).toBe('unavailable');
    // Not remembered as a failure: the next request asks again and succeeds.
    registry.down = false;
    expect(await source.getProfile('finance')).toMatchObject({ mode: 'mask' });
  });

  it('serves the cached profile while the registry is unreachable, with a constant warning, and retries after a pause', async () => {
    const { registry, source, clock, logs } = newTestSource({ ttlMs: 10_000, retryAfterMs: 2_000 });
    const cached = await source.getProfile('finance');
    const directory = await source.getDirectory();
    registry.down = true;
    clock.now += 11_000;
    expect(await source.getProfile('finance')).toBe(cached);
    expect(await source.getDirectory()).toBe(directory);
    expect(registry.calls.profile).toBe(2);
    // Within the pause: served without asking.
    clock.now += 1_000;
    expect(await source.getProfile('finance')).toBe(cached);
    expect(registry.calls.profile).toBe(2);
    clock.now += 1_500;
    expect(await source.getProfile('finance')).toBe(cached);
    expect(registry.calls.profile).toBe(3);
    const warnings = logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l['level'] === 'warn' || l['level'] === 40);
    expect(new Set(warnings.map((w) => w['msg']))).toEqual(
      new Set(['registry unreachable: serving the cached privacy settings']),
    );
    expect(logs.join('\n')).not.toContain('Jane Doe');
    expect(logs.join('\n')).not.toContain('Project Nightjar');
  });

  it('refuses a tampered signed profile with unavailable, and drops a cached one', async () => {
    const { registry, source, logs } = newTestSource();
    await source.getProfile('finance');
    // Same signature, another payload: mode off.
    registry.tamper = (jws) => {
      const [header, payload, signature] = jws.split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { profile: RoleProfile };
      claims.profile.privacy.mode = 'off';
      return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    };
    registry.announce({ kind: 'profile', role: 'finance', profileId: 'finance', version: 1 });
    const refused = await failure(source.getProfile('finance'));
    expect(refused.code).toBe('unavailable');
    expect(refused.message).toContain('could not be verified');
    expect(logs.some((l) => l.includes('signed privacy profile refused'))).toBe(true);
    // Nothing is left to fall back on.
    expect((await failure(source.getProfile('finance'))).code).toBe('unavailable');
    registry.tamper = undefined;
    expect(await source.getProfile('finance')).toMatchObject({ mode: 'mask' });
  });

  it('verifies against pinned keys only when they are configured', async () => {
    const pinned = newTestSource({ trustedKeys: { keys: [signingKey.publicJwk] } });
    expect(await pinned.source.getProfile('finance')).toMatchObject({ mode: 'mask' });
    // A peer that signs with its own key and sends that key along.
    const impostor = newTestSource({ trustedKeys: { keys: [signingKey.publicJwk] } });
    impostor.registry.signWith = strangerKey;
    const original = impostor.registry.getProfile.bind(impostor.registry);
    impostor.registry.getProfile = async (role) => ({
      ...(await original(role)),
      jwks: { keys: [strangerKey.publicJwk as { kty: string; kid: string }] },
    });
    expect((await failure(impostor.source.getProfile('finance'))).code).toBe('unavailable');
  });

  it("refuses another role's signed profile and an older signed version than one already used", async () => {
    const { registry, source, clock } = newTestSource({ ttlMs: 1_000 });
    registry.answerWith = { profile: roleProfile('intern', { mode: 'off' }), version: 9 };
    expect((await failure(source.getProfile('finance'))).code).toBe('unavailable');
    registry.answerWith = undefined;
    registry.publish(roleProfile('finance', { mode: 'mask' }), 5);
    await source.getProfile('finance');
    registry.publish(roleProfile('finance', { mode: 'off' }), 4);
    clock.now += 2_000;
    expect((await failure(source.getProfile('finance'))).code).toBe('unavailable');
  });

  it('does not take an answer fetched before an announced change as fresh', async () => {
    const { registry, source } = newTestSource();
    await source.getProfile('finance');
    registry.announce({ kind: 'profile', role: 'finance', profileId: 'finance', version: 1 });
    // The refresh started by the announcement is on its way; another change is announced meanwhile.
    registry.publish(roleProfile('finance', { mode: 'strict' }), 2);
    registry.announce({ kind: 'profile', role: 'finance', profileId: 'finance', version: 2 });
    // One refresh at a time: the second announcement does not ask again while the first is on its way.
    expect(registry.calls.profile).toBe(2);
    await source.getProfile('finance');
    // That answer predates version 2: the next read asks again and gets it.
    expect(await source.getProfile('finance')).toMatchObject({ mode: 'strict' });
    expect(registry.calls.profile).toBe(3);
  });

  it('refreshes everything cached after a reconnect', async () => {
    const { registry, source } = newTestSource();
    await source.getProfile('finance');
    await source.getDirectory();
    registry.publish(roleProfile('finance', { mode: 'detect' }), 2);
    registry.orgVersion = 2;
    registry.announce({ kind: 'all' });
    expect(registry.calls).toMatchObject({ profile: 2, directory: 2 });
    expect((await source.getProfile('finance'))?.mode).toBe('detect');
    await source.getDirectory();
    expect(registry.calls).toMatchObject({ profile: 2, directory: 2 });
  });

  it('stops following announcements when stopped', async () => {
    const { registry, source } = newTestSource();
    await source.getProfile('finance');
    source.stop();
    registry.publish(roleProfile('finance', { mode: 'strict' }), 2);
    registry.announce({ kind: 'profile', role: 'finance', profileId: 'finance', version: 2 });
    expect((await source.getProfile('finance'))?.mode).toBe('mask');
  });
});

describe('RegistryProfileSource for agents (the profile the registry runs an agent under)', () => {
  /** finance (default: mask) and finance-strict; agent finance-auditor runs under finance-strict. */
  function newAgentSource(options: Partial<RegistryProfileSourceOptions> = {}) {
    const test = newTestSource(options);
    test.registry.publish(otherProfile('finance-strict', 'finance', { mode: 'strict' }), 1);
    test.registry.declare('finance-auditor', 'finance', 'finance-strict', 1);
    test.registry.declare('finance-agent', 'finance', null, 1);
    return test;
  }
  const auditor = { role: 'finance', sub: 'finance-auditor' };

  it("gives an agent its named profile, the same object on every hit without asking again, and anyone else the role's default", async () => {
    const { registry, source } = newAgentSource();
    const strict = await source.profileFor(auditor);
    expect(strict).toMatchObject({ mode: 'strict' });
    expect(await source.profileFor(auditor)).toBe(strict);
    expect(await source.profileFor({ role: 'finance', sub: 'finance-auditor' })).toBe(strict);
    expect(registry.calls).toMatchObject({ agent: 1, profileById: 1, profile: 0 });

    const roleDefault = await source.getProfile('finance');
    expect(roleDefault).toMatchObject({ mode: 'mask', denyList: ['Project Nightjar'] });
    // A subject the registry does not declare (a user, say): the role's default.
    expect(await source.profileFor({ role: 'finance', sub: 'u-1001' })).toBe(roleDefault);
    // Not an id the registry can hold: not even asked.
    expect(await source.profileFor({ role: 'finance', sub: '7f3c2a90-0000-4000-8000-000000000000' })).toBe(
      roleDefault,
    );
    expect(await source.profileFor({ role: 'finance' })).toBe(roleDefault);
    expect(registry.calls).toMatchObject({ agent: 2, profileById: 1, profile: 1 });
    await source.profileFor({ role: 'finance', sub: 'u-1001' });
    expect(registry.calls.agent).toBe(2);
  });

  it('serves one object for a profile reached by role and by id (one compiled detector)', async () => {
    const { registry, source } = newAgentSource();
    // finance-agent names no profile: the registry answers its effective profile, the role default.
    const viaAgent = await source.profileFor({ role: 'finance', sub: 'finance-agent' });
    expect(registry.calls).toMatchObject({ agent: 1, profileById: 1 });
    expect(await source.getProfile('finance')).toBe(viaAgent);
  });

  it("gives the role's default to an agent the registry declares with another role than the token's", async () => {
    const { registry, source } = newAgentSource();
    registry.declare('legal-reviewer', 'legal', null, 1);
    // A finance token whose subject is a legal agent: the token's role decides which profiles may apply.
    expect(await source.profileFor({ role: 'finance', sub: 'legal-reviewer' })).toBe(
      await source.getProfile('finance'),
    );
    expect(registry.calls.profileById).toBe(0);
  });

  it('switches an agent to the profile an announced agent change gives it, fetched off the request path', async () => {
    const { registry, source } = newAgentSource();
    const strict = await source.profileFor(auditor);
    expect(strict?.mode).toBe('strict');

    registry.declare('finance-auditor', 'finance', null, 2);
    const asked = { ...registry.calls };
    registry.announce({ kind: 'agent', agentId: 'finance-auditor', version: 2, present: true });
    expect(registry.calls.agent).toBe(asked.agent + 1);
    // The agent's answer names the role's default; the same background refresh asks for it.
    await registry.reached('profileById', asked.profileById + 1);
    const calls = { ...registry.calls };
    const after = await source.profileFor(auditor);
    expect(after).toMatchObject({ mode: 'mask', denyList: ['Project Nightjar'] });
    // Agent and profile were both fetched when the change was announced, not by this request.
    expect(registry.calls).toEqual(calls);

    // Removed from the registry: the role's default, like any caller that is no agent.
    registry.declare('finance-auditor', 'finance', 'finance-strict', 3);
    registry.announce({ kind: 'agent', agentId: 'finance-auditor', version: 3, present: true });
    expect(registry.calls.agent).toBe(calls.agent + 1);
    expect(await source.profileFor(auditor)).toBe(strict);
    registry.agents.delete('finance-auditor');
    registry.announce({ kind: 'agent', agentId: 'finance-auditor', version: 4, present: false });
    expect(registry.calls.agent).toBe(calls.agent + 2);
    expect(await source.profileFor(auditor)).toBe(await source.getProfile('finance'));
    // Another agent's change is not this one's.
    const agentCalls = registry.calls.agent;
    registry.announce({ kind: 'agent', agentId: 'someone-else', version: 5, present: true });
    expect(registry.calls.agent).toBe(agentCalls);
    await source.profileFor(auditor);
    expect(registry.calls.agent).toBe(agentCalls);
  });

  it('takes an agent registered after its subject was found to be none, also from a lagging replica', async () => {
    const { registry, source } = newAgentSource();
    const newcomer = { role: 'finance', sub: 'finance-newcomer' };
    expect(await source.profileFor(newcomer)).toBe(await source.getProfile('finance'));
    // The event overtakes the answering replica: it does not declare the agent yet.
    registry.announce({ kind: 'agent', agentId: 'finance-newcomer', version: 2, present: true });
    expect(registry.calls.agent).toBe(2);
    // That refresh's answer: no such agent yet, so the role's default while the next read asks again.
    expect((await source.profileFor(newcomer))?.mode).toBe('mask');
    expect(registry.calls.agent).toBe(2);
    expect((await source.profileFor(newcomer))?.mode).toBe('mask');
    expect(registry.calls.agent).toBe(3);
    registry.declare('finance-newcomer', 'finance', 'finance-strict', 2);
    expect((await source.profileFor(newcomer))?.mode).toBe('strict');
    await source.profileFor(newcomer);
    expect(registry.calls.agent).toBe(4);
  });

  it('asks again while the registry answers an agent from a version older than the announced change', async () => {
    const { registry, source } = newAgentSource({ ttlMs: 30_000 });
    await source.profileFor(auditor);
    // The event overtakes the answering replica: it still declares version 1.
    registry.announce({ kind: 'agent', agentId: 'finance-auditor', version: 2, present: true });
    expect(registry.calls.agent).toBe(2);
    expect((await source.profileFor(auditor))?.mode).toBe('strict');
    expect(registry.calls.agent).toBe(2);
    expect((await source.profileFor(auditor))?.mode).toBe('strict');
    expect(registry.calls.agent).toBe(3);
    registry.declare('finance-auditor', 'finance', null, 2);
    expect((await source.profileFor(auditor))?.mode).toBe('mask');
    expect(registry.calls.agent).toBe(4);
    await source.profileFor(auditor);
    expect(registry.calls.agent).toBe(4);

    // Removal: a replica still declaring the agent is lagging; agent_not_found is the awaited answer.
    registry.announce({ kind: 'agent', agentId: 'finance-auditor', version: 3, present: false });
    expect(registry.calls.agent).toBe(5);
    await source.profileFor(auditor);
    expect(registry.calls.agent).toBe(5);
    await source.profileFor(auditor);
    expect(registry.calls.agent).toBe(6);
    registry.agents.delete('finance-auditor');
    await source.profileFor(auditor);
    expect(registry.calls.agent).toBe(7);
    await source.profileFor(auditor);
    expect(registry.calls.agent).toBe(7);
  });

  it('takes a republished agent profile at once, keeping the object while its privacy section is unchanged', async () => {
    const { registry, source } = newAgentSource();
    const before = await source.profileFor(auditor);
    registry.publish({ ...otherProfile('finance-strict', 'finance', { mode: 'strict' }), hints: 'new' }, 2);
    registry.announce({ kind: 'profile', role: 'finance', profileId: 'finance-strict', version: 2 });
    expect(registry.calls.profileById).toBe(2);
    expect(await source.profileFor(auditor)).toBe(before);
    registry.publish(otherProfile('finance-strict', 'finance', { mode: 'strict', denyList: ['Kestrel'] }), 3);
    registry.announce({ kind: 'profile', role: 'finance', profileId: 'finance-strict', version: 3 });
    // Fetched when the change was announced; the request below waits for that answer.
    const calls = registry.calls.profileById;
    expect(calls).toBe(3);
    const after = await source.profileFor(auditor);
    expect(after).not.toBe(before);
    expect(after).toMatchObject({ mode: 'strict', denyList: ['Kestrel'] });
    expect(registry.calls.profileById).toBe(calls);
  });

  it('fails closed when the registry does not answer for an agent nothing is cached for, and serves a cached one past its TTL', async () => {
    const { registry, source, clock, logs } = newAgentSource({ ttlMs: 10_000, retryAfterMs: 2_000 });
    const strict = await source.profileFor(auditor);
    registry.down = true;
    expect((await failure(source.profileFor({ role: 'finance', sub: 'finance-agent' }))).code).toBe(
      'unavailable',
    );
    clock.now += 11_000;
    expect(await source.profileFor(auditor)).toBe(strict);
    expect(registry.calls).toMatchObject({ agent: 3, profileById: 2 });
    // Within the pause: served without asking.
    clock.now += 1_000;
    expect(await source.profileFor(auditor)).toBe(strict);
    expect(registry.calls).toMatchObject({ agent: 3, profileById: 2 });
    expect(logs.some((l) => l.includes('registry unreachable: serving the cached privacy settings'))).toBe(
      true,
    );
    registry.down = false;
    expect((await source.profileFor({ role: 'finance', sub: 'finance-agent' }))?.mode).toBe('mask');
  });

  it("refuses an agent's profile whose signed form names another role, is another profile, or was tampered with", async () => {
    // The agent's answer is not signed: a peer naming a profile of another role is caught by the signed role.
    const lying = newAgentSource();
    lying.registry.agentProfileOverride = 'legal';
    const wrongRole = await failure(lying.source.profileFor(auditor));
    expect(wrongRole.code).toBe('unavailable');
    expect(wrongRole.message).toContain('could not be verified');
    expect(lying.logs.some((l) => l.includes('signed privacy profile refused'))).toBe(true);
    // Once the answers agree again, the agent is asked for anew.
    lying.registry.agentProfileOverride = undefined;
    expect((await lying.source.profileFor(auditor))?.mode).toBe('strict');

    const other = newAgentSource();
    other.registry.answerWith = { profile: roleProfile('finance', { mode: 'off' }), version: 9 };
    expect((await failure(other.source.profileFor(auditor))).code).toBe('unavailable');

    const tampered = newAgentSource();
    tampered.registry.tamper = (jws) => {
      const [header, payload, signature] = jws.split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { profile: RoleProfile };
      claims.profile.privacy.mode = 'off';
      return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    };
    expect((await failure(tampered.source.profileFor(auditor))).code).toBe('unavailable');
  });

  it('refuses an older signed version of an agent profile than one already used', async () => {
    const { registry, source, clock } = newAgentSource({ ttlMs: 1_000 });
    registry.publish(otherProfile('finance-strict', 'finance', { mode: 'strict' }), 5);
    await source.profileFor(auditor);
    registry.publish(otherProfile('finance-strict', 'finance', { mode: 'off' }), 4);
    clock.now += 2_000;
    expect((await failure(source.profileFor(auditor))).code).toBe('unavailable');
  });

  it('refuses, then asks for both again, when the profile an agent names is gone by the time it is read', async () => {
    const { registry, source } = newAgentSource();
    registry.byId.delete('finance-strict');
    expect((await failure(source.profileFor(auditor))).code).toBe('unavailable');
    // The registry's next version moved the agent to the role's default.
    registry.declare('finance-auditor', 'finance', null, 2);
    expect((await source.profileFor(auditor))?.mode).toBe('mask');
    expect(registry.calls).toMatchObject({ agent: 2 });
  });

  it('refreshes cached agents after a reconnect', async () => {
    const { registry, source } = newAgentSource();
    await source.profileFor(auditor);
    registry.declare('finance-auditor', 'finance', null, 2);
    const asked = { ...registry.calls };
    registry.announce({ kind: 'all' });
    // The agent and its cached profile at once; then the profile the agent's new answer names.
    expect(registry.calls).toMatchObject({ agent: asked.agent + 1, profileById: asked.profileById + 1 });
    await registry.reached('profileById', asked.profileById + 2);
    const calls = { ...registry.calls };
    expect((await source.profileFor(auditor))?.mode).toBe('mask');
    expect(registry.calls).toEqual(calls);
  });
});

describe('toPrivacyProfile', () => {
  const base = {
    mode: 'mask' as const,
    entities: {},
    customPatterns: [],
    denyList: [],
    employeeIdPattern: null,
  };

  it("carries the channel rules of the registry's privacy section (binary, unknownFields)", () => {
    expect(toPrivacyProfile({ ...base, binary: 'refuse', unknownFields: 'refuse' })).toMatchObject({
      binary: 'refuse',
      unknownFields: 'refuse',
    });
    const plain = toPrivacyProfile(base);
    expect(plain.binary).toBeUndefined();
    expect(plain.unknownFields).toBeUndefined();
  });

  it("carries the names switch and the pseudonym scope of the registry's privacy section", () => {
    expect(toPrivacyProfile({ ...base, names: false, pseudonymScope: 'role' })).toMatchObject({
      names: false,
      pseudonymScope: 'role',
    });
    const plain = toPrivacyProfile(base);
    expect(plain.names).toBeUndefined();
    expect(plain.pseudonymScope).toBeUndefined();
  });
});
