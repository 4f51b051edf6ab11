import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { verifyProfile, signProfile } from '@orgmesh/auth';
import type { RoleProfile } from '@orgmesh/contracts';
import { profileSigningKey } from './profile-signing.key.js';

const PROFILE: RoleProfile = {
  id: 'finance',
  role: 'finance',
  isDefault: true,
  description: '',
  providers: [{ name: 'openai', models: [] }],
  privacy: { mode: 'mask', entities: {}, customPatterns: [], denyList: [], employeeIdPattern: null },
  mesh: { sendTaskTo: [], requestApprovalFrom: ['manager'], notify: [] },
  tools: ['read'],
  extensions: [],
  hints: '',
};

async function signsVerifiably(secret: string | undefined): Promise<string> {
  const key = await profileSigningKey(secret);
  const jws = await signProfile(
    { profile: PROFILE, version: 1, publishedAt: '2030-01-01T00:00:00.000Z' },
    key.privateKey,
    key.kid,
  );
  const { kid } = await verifyProfile(jws, { keys: [key.publicJwk] });
  expect(kid).toBe(key.kid);
  expect(key.publicJwk).not.toHaveProperty('d');
  return key.kid;
}

describe('profileSigningKey', () => {
  it('generates a key when none is configured, identified by its thumbprint', async () => {
    const key = await profileSigningKey(undefined);
    expect(key.origin).toBe('generated');
    expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await signsVerifiably(undefined);
  });

  it('takes a private JWK with its own kid, or its thumbprint when it has none', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = privateKey.export({ format: 'jwk' });
    expect(await signsVerifiably(JSON.stringify({ ...jwk, kid: 'ops-2030' }))).toBe('ops-2030');
    const thumbprint = await signsVerifiably(JSON.stringify(jwk));
    expect(thumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The same key has the same id whatever form it is given in.
    expect(await signsVerifiably(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString())).toBe(
      thumbprint,
    );
    expect(await signsVerifiably(privateKey.export({ format: 'pem', type: 'sec1' }).toString())).toBe(
      thumbprint,
    );
  });

  it('refuses anything but a private P-256 key without echoing the secret', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const p384 = JSON.stringify(
      generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'jwk' }),
    );
    const { d: _d, ...publicOnly } = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      format: 'jwk',
    });
    for (const secret of ['hunter2-not-a-key', rsa, p384, JSON.stringify(publicOnly)]) {
      const error = await profileSigningKey(secret).catch((e: unknown) => e as Error);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toBe(
        'REGISTRY_SIGNING_KEY: expected a private EC P-256 key as a JWK (JSON) or a PEM (PKCS#8 or SEC1)',
      );
    }
  });
});
