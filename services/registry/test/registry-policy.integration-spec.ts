import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createProfileSigningKey, verifyProfile } from '@orgmesh/auth';
import { GetAgent, GetProfile, ListAgents, ResolvePolicy } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { TestContext } from '@orgmesh/testing';
import type { RegistryApp } from '../src/registry.app.js';
import { clientBus, createTestContext, rpcError, startTestRegistry } from './registry-harness.js';

/** A private EC P-256 JWK with a kid, as an operator would put in REGISTRY_SIGNING_KEY. */
async function privateJwk(kid: string): Promise<string> {
  const { privateKey } = await createProfileSigningKey(kid);
  const { exportJWK } = await import('jose');
  return JSON.stringify({ ...(await exportJWK(privateKey)), kid });
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

describe('policy, agents and signed profiles over NATS', () => {
  let ctx: TestContext;
  let app: RegistryApp;
  let bus: MessageBus;

  beforeAll(async () => {
    ctx = await createTestContext();
    app = await startTestRegistry(ctx, {
      overrides: { REGISTRY_SIGNING_KEY: await privateJwk('registry-2030-01') },
    });
    bus = await clientBus(ctx);
  });

  afterAll(async () => {
    await bus?.close();
    await app?.close();
    await ctx?.dispose();
  });

  it('allows with the rule that allows, and denies with the default-deny that refuses', async () => {
    expect(await bus.request(ResolvePolicy, { from: 'finance', to: 'manager', kind: 'approval' })).toEqual({
      allowed: true,
      rule: 'profiles/finance.yaml: mesh.request_approval_from[0] (manager)',
      fromRole: 'finance',
      toRole: 'manager',
      version: 1,
    });
    expect(
      await bus.request(ResolvePolicy, { from: 'manager-agent', to: 'legal-agent', kind: 'task' }),
    ).toMatchObject({
      allowed: true,
      rule: 'profiles/manager.yaml: mesh.send_task_to[1] (legal)',
    });
    expect(await bus.request(ResolvePolicy, { from: 'legal', to: 'finance', kind: 'task' })).toMatchObject({
      allowed: false,
      rule: 'default-deny: profiles/legal.yaml grants no tasks to finance (mesh.send_task_to)',
      fromRole: 'legal',
      toRole: 'finance',
    });
    expect(
      await bus.request(ResolvePolicy, { from: 'ghost-agent', to: 'finance', kind: 'notification' }),
    ).toMatchObject({
      allowed: false,
      rule: 'default-deny: unknown sender "ghost-agent"',
      fromRole: null,
    });
  });

  it('signs published profiles with the configured key; consumers verify them and refuse tampered ones', async () => {
    const { profile, jws, jwks, version } = await bus.request(GetProfile, { role: 'legal' });
    expect(app.signingKid).toBe('registry-2030-01');
    expect(jwks.keys.map((k) => k.kid)).toEqual(['registry-2030-01']);
    expect(jwks.keys[0]).not.toHaveProperty('d');
    const [header, payload, signature] = jws.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(header, 'base64url').toString('utf8'))).toMatchObject({
      alg: 'ES256',
      kid: 'registry-2030-01',
    });
    const { published } = await verifyProfile(jws, jwks);
    expect(published).toEqual({ profile, version, publishedAt: expect.any(String) });
    expect(published.profile.privacy.entities).toMatchObject({ ssn: 'strict' });

    // Legal's SSN rule relaxed in transit: the signature no longer matches.
    const relaxed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      profile: { privacy: { entities: Record<string, string> } };
    };
    relaxed.profile.privacy.entities['ssn'] = 'off';
    await expect(
      verifyProfile(`${header}.${base64url(JSON.stringify(relaxed))}.${signature}`, jwks),
    ).rejects.toMatchObject({
      code: 'unauthenticated',
      message: 'profile signature refused: signature does not match the payload',
    });
    // Another profile's signature on this payload, and this JWS against someone else's keys.
    const finance = await bus.request(GetProfile, { profileId: 'finance' });
    await expect(
      verifyProfile(`${header}.${payload}.${finance.jws.split('.')[2] ?? ''}`, jwks),
    ).rejects.toMatchObject({ code: 'unauthenticated' });
    const stranger = await createProfileSigningKey('registry-2030-01');
    await expect(verifyProfile(jws, { keys: [stranger.publicJwk] })).rejects.toMatchObject({
      code: 'unauthenticated',
    });
  });

  it('answers profile lookups by id or by role, profile_not_found otherwise', async () => {
    expect((await bus.request(GetProfile, { profileId: 'engineering-contractor' })).profile).toMatchObject({
      role: 'engineering',
      isDefault: false,
    });
    expect((await bus.request(GetProfile, { role: 'engineering' })).profile.id).toBe('engineering');
    expect((await rpcError(bus.request(GetProfile, { profileId: 'no-such-profile' }))).code).toBe(
      'profile_not_found',
    );
  });

  it('lists agents by id with role filter and cursor paging', async () => {
    const first = await bus.request(ListAgents, { limit: 10 });
    expect(first.items).toHaveLength(10);
    expect(first.nextCursor).not.toBeNull();
    const ids: string[] = first.items.map((i) => i.agent.id);
    let cursor = first.nextCursor;
    while (cursor) {
      const page = await bus.request(ListAgents, { limit: 10, cursor });
      ids.push(...page.items.map((i) => i.agent.id));
      cursor = page.nextCursor;
    }
    expect(ids).toHaveLength(26);
    expect(ids).toEqual([...ids].sort());
    const legal = await bus.request(ListAgents, { role: 'legal' });
    expect(legal.items.map((i) => i.agent.id)).toEqual([
      'compliance-agent',
      'contracts-agent',
      'legal-agent',
      'privacy-counsel-agent',
    ]);
    expect(legal.nextCursor).toBeNull();
    expect((await rpcError(bus.request(ListAgents, { cursor: 'not-a-cursor' }))).code).toBe('invalid_cursor');
    const forged = Buffer.from(JSON.stringify({ a: 'Not An Agent\u0000' })).toString('base64url');
    expect((await rpcError(bus.request(ListAgents, { cursor: forged }))).code).toBe('invalid_cursor');
    expect((await bus.request(GetAgent, { agentId: 'frontend-agent' })).expectedConfigHashes).toEqual({
      'claude-code': expect.stringMatching(/^sha256:/),
      goose: expect.stringMatching(/^sha256:/),
    });
  });
});
