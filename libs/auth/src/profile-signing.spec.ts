import { describe, expect, it, beforeAll } from '@jest/globals';
import { CompactSign, type CryptoKey, type JWK } from 'jose';
import type { PublishedProfile } from '@orgmesh/contracts';
import { createProfileSigningKey, signProfile, verifyProfile } from './profile-signing.js';

const published: PublishedProfile = {
  version: 3,
  publishedAt: '2026-01-05T10:00:00.000Z',
  profile: {
    id: 'legal',
    role: 'legal',
    isDefault: true,
    description: 'Legal',
    providers: [{ name: 'openai', models: ['gpt-4o-mini'] }],
    privacy: {
      mode: 'mask',
      entities: { ssn: 'strict' },
      customPatterns: [],
      denyList: [],
      employeeIdPattern: null,
    },
    mesh: { sendTaskTo: ['legal'], requestApprovalFrom: ['manager'], notify: ['manager'] },
    tools: ['read'],
    extensions: [],
    hints: '',
  },
};

function b64(json: unknown): string {
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

describe('signed profiles', () => {
  let privateKey: CryptoKey;
  let publicJwk: JWK;
  beforeAll(async () => {
    ({ privateKey, publicJwk } = await createProfileSigningKey('registry-2026-01'));
  });

  it('verifies a signed profile and returns it with its kid', async () => {
    const jws = await signProfile(published, privateKey, 'registry-2026-01');
    const { published: verified, kid } = await verifyProfile(jws, { keys: [publicJwk] });
    expect(kid).toBe('registry-2026-01');
    expect(verified).toEqual(published);
    expect(JSON.parse(Buffer.from(jws.split('.')[0] ?? '', 'base64url').toString())).toEqual({
      alg: 'ES256',
      kid: 'registry-2026-01',
      typ: 'orgmesh-profile+jws',
    });
  });

  it('signs equal profiles with equal payloads whatever the key order', async () => {
    const reordered = JSON.parse(
      JSON.stringify({ profile: published.profile, publishedAt: published.publishedAt, version: 3 }),
    ) as PublishedProfile;
    const a = await signProfile(published, privateKey, 'k');
    const b = await signProfile(reordered, privateKey, 'k');
    expect(a.split('.')[1]).toBe(b.split('.')[1]);
  });

  it('refuses a tampered payload (Legal loosened from strict to off on SSNs)', async () => {
    const jws = await signProfile(published, privateKey, 'registry-2026-01');
    const [header, , signature] = jws.split('.');
    const loosened = {
      ...published,
      profile: { ...published.profile, privacy: { ...published.profile.privacy, entities: { ssn: 'off' } } },
    };
    await expect(
      verifyProfile(`${header}.${b64(loosened)}.${signature}`, { keys: [publicJwk] }),
    ).rejects.toThrow('profile signature refused: signature does not match the payload');
  });

  it('refuses a tampered signature', async () => {
    const jws = await signProfile(published, privateKey, 'registry-2026-01');
    const flipped = jws.slice(0, -4) + (jws.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    await expect(verifyProfile(flipped, { keys: [publicJwk] })).rejects.toMatchObject({
      code: 'unauthenticated',
    });
  });

  it('refuses an unknown kid, even when the key itself would verify', async () => {
    const jws = await signProfile(published, privateKey, 'rotated-out');
    await expect(verifyProfile(jws, { keys: [publicJwk] })).rejects.toThrow(
      'profile signature refused: unknown signing key (kid)',
    );
  });

  it('refuses a profile signed by another key under a known kid', async () => {
    const intruder = await createProfileSigningKey('registry-2026-01');
    const jws = await signProfile(published, intruder.privateKey, 'registry-2026-01');
    await expect(verifyProfile(jws, { keys: [publicJwk] })).rejects.toThrow(
      'signature does not match the payload',
    );
  });

  it('refuses something else signed with the profile key (wrong typ) and an unsigned alg:none token', async () => {
    const jwt = await new CompactSign(new TextEncoder().encode(JSON.stringify(published)))
      .setProtectedHeader({ alg: 'ES256', kid: 'registry-2026-01', typ: 'JWT' })
      .sign(privateKey);
    await expect(verifyProfile(jwt, { keys: [publicJwk] })).rejects.toThrow('not a signed profile (typ JWT)');
    const none = `${b64({ alg: 'none', kid: 'registry-2026-01', typ: 'orgmesh-profile+jws' })}.${b64(published)}.`;
    await expect(verifyProfile(none, { keys: [publicJwk] })).rejects.toMatchObject({
      code: 'unauthenticated',
    });
  });

  it('refuses a correctly signed payload that is not a profile', async () => {
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify({ version: 1 })))
      .setProtectedHeader({ alg: 'ES256', kid: 'registry-2026-01', typ: 'orgmesh-profile+jws' })
      .sign(privateKey);
    await expect(verifyProfile(jws, { keys: [publicJwk] })).rejects.toThrow(
      'payload is not a profile (profile, publishedAt)',
    );
  });
});
