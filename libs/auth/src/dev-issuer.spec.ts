import { describe, expect, it } from '@jest/globals';
import { decodeProtectedHeader } from 'jose';
import { createJwtVerifier } from './jwt-verifier.js';
import { DevIssuer } from './dev-issuer.js';
import { ClientRegistry, hashClientSecret, verifyClientSecret } from './client-registry.js';

const FAST = { cost: 1024 };

describe('DevIssuer', () => {
  it('issues ES256 tokens with a kid that verify against its JWKS and carry subject, role, tenant and scopes', async () => {
    const issuer = await DevIssuer.create({ issuer: 'http://127.0.0.1:8080/', audience: 'orgmesh' });
    const response = await issuer.issue({
      sub: 'finance-agent',
      role: 'finance',
      scopes: ['orgmesh:agent'],
      clientId: 'finance-agent',
    });
    expect(response).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'orgmesh:agent' });
    expect(decodeProtectedHeader(response.access_token)).toMatchObject({
      alg: 'ES256',
      kid: issuer.currentKid,
    });
    const verifier = createJwtVerifier({
      issuer: 'http://127.0.0.1:8080',
      audience: 'orgmesh',
      jwks: issuer.jwks(),
    });
    await expect(verifier.verify(response.access_token)).resolves.toMatchObject({
      subject: 'finance-agent',
      role: 'finance',
      tenant: 'default',
      scopes: ['orgmesh:agent'],
    });
  });

  it('keeps a rotated key published until the tokens it signed have expired, then drops it', async () => {
    let now = 1_700_000_000_000;
    const issuer = await DevIssuer.create({
      issuer: 'urn:dev',
      audience: 'orgmesh',
      tokenTtlSec: 600,
      retireGraceSec: 30,
      now: () => now,
    });
    const oldKid = issuer.currentKid;
    const versionBefore = issuer.keySetVersion();
    const newKid = await issuer.rotate();
    expect(newKid).not.toBe(oldKid);
    expect(issuer.keySetVersion()).toBeGreaterThan(versionBefore);
    expect(issuer.jwks().keys.map((k) => k.kid)).toEqual([oldKid, newKid]);

    now += 600_000 + 29_000;
    expect(issuer.jwks().keys.map((k) => k.kid)).toEqual([oldKid, newKid]);
    const beforeDrop = issuer.keySetVersion();
    now += 1_000;
    expect(issuer.jwks().keys.map((k) => k.kid)).toEqual([newKid]);
    expect(issuer.keySetVersion()).toBeGreaterThan(beforeDrop);
  });

  it('signs with the new key right after a rotation while old tokens still verify', async () => {
    const issuer = await DevIssuer.create({ issuer: 'urn:dev', audience: 'orgmesh' });
    const before = await issuer.issue({ sub: 'admin', role: 'admin', scopes: ['orgmesh:admin'] });
    await issuer.rotate();
    const after = await issuer.issue({ sub: 'admin', role: 'admin', scopes: ['orgmesh:admin'] });
    expect(decodeProtectedHeader(after.access_token).kid).toBe(issuer.currentKid);
    expect(decodeProtectedHeader(before.access_token).kid).not.toBe(issuer.currentKid);
    const verifier = createJwtVerifier({
      issuer: 'urn:dev',
      audience: 'orgmesh',
      jwks: issuer.jwks(),
      cacheSize: 0,
    });
    await expect(verifier.verify(before.access_token)).resolves.toMatchObject({ subject: 'admin' });
    await expect(verifier.verify(after.access_token)).resolves.toMatchObject({ subject: 'admin' });
  });

  it('publishes discovery metadata naming its JWKS and token endpoint', async () => {
    const issuer = await DevIssuer.create({ issuer: 'http://gw.example', audience: 'orgmesh' });
    expect(issuer.openidConfiguration()).toMatchObject({
      issuer: 'http://gw.example',
      jwks_uri: 'http://gw.example/.well-known/jwks.json',
      token_endpoint: 'http://gw.example/v1/auth/token',
      grant_types_supported: ['client_credentials'],
    });
  });
});

describe('client secrets', () => {
  it('hashes with scrypt and a random salt, and verifies only the right secret', async () => {
    const a = await hashClientSecret('s3cret', FAST);
    const b = await hashClientSecret('s3cret', FAST);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('s3cret');
    await expect(verifyClientSecret('s3cret', a)).resolves.toBe(true);
    await expect(verifyClientSecret('s3creT', a)).resolves.toBe(false);
    await expect(verifyClientSecret('s3cret', 'plain$text')).resolves.toBe(false);
  });

  it('authenticates registered clients and refuses unknown ids and wrong secrets alike', async () => {
    const registry = await ClientRegistry.create(
      [
        {
          clientId: 'admin',
          secret: 'admin-dev-secret',
          role: 'admin',
          scopes: ['orgmesh:admin', 'orgmesh:read'],
        },
        {
          clientId: 'finance-agent',
          secret: 'finance-agent-dev-secret',
          role: 'finance',
          scopes: ['orgmesh:agent'],
        },
      ],
      FAST,
    );
    expect(registry.clientIds()).toEqual(['admin', 'finance-agent']);
    await expect(registry.authenticate('finance-agent', 'finance-agent-dev-secret')).resolves.toMatchObject({
      subject: 'finance-agent',
      role: 'finance',
    });
    await expect(registry.authenticate('finance-agent', 'admin-dev-secret')).resolves.toBeUndefined();
    await expect(registry.authenticate('nobody', 'nobody-dev-secret')).resolves.toBeUndefined();
    expect(JSON.stringify(registry.get('admin'))).not.toContain('admin-dev-secret');
  });

  it('refuses a client defined twice', async () => {
    await expect(
      ClientRegistry.create(
        [
          { clientId: 'x', secret: 'a', role: 'r', scopes: [] },
          { clientId: 'x', secret: 'b', role: 'r', scopes: [] },
        ],
        FAST,
      ),
    ).rejects.toThrow(/defined twice/);
  });
});
