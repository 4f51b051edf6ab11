import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, exportPKCS8, generateKeyPair, type JWK } from 'jose';
import { AppError } from '@orgmesh/contracts';
import { createJwtVerifier, type JwtVerifier } from '@orgmesh/auth';
import { expectEventually, startOidcProvider, type OidcTestProvider } from '@orgmesh/testing';
import {
  OidcClientEnvSchema,
  OidcTokenSource,
  oidcClientSettings,
  type OidcClientSettings,
} from '../src/index.js';

// A real OpenID provider (oidc-provider) on a free port; every key is generated here, per run.
// RFC 8707 wants the resource to be an absolute URI; oidc-provider enforces it.
const AUDIENCE = 'urn:orgmesh:api';
const SECRET = `secret-${Math.random().toString(36).slice(2)}`;

async function keyPair(): Promise<{ privateJwk: JWK; publicJwk: JWK; pem: string }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `client-key-${Math.random().toString(36).slice(2)}`;
  return {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' },
    pem: await exportPKCS8(privateKey),
  };
}

/** Settings as an operator gives them: environment keys parsed by the same function every program uses. */
function settingsFromEnv(env: Record<string, string>): OidcClientSettings {
  const problems: Array<{ key: string; reason: string }> = [];
  const settings = oidcClientSettings(OidcClientEnvSchema.parse(env), undefined, problems);
  expect(problems).toEqual([]);
  return settings!;
}

describe('OIDC client credentials against oidc-provider', () => {
  let provider: OidcTestProvider;
  let verifier: JwtVerifier;
  let keyFile: string;
  let pemFile: string;

  beforeAll(async () => {
    const key = await keyPair();
    const pemKey = await keyPair();
    const dir = mkdtempSync(join(tmpdir(), 'orgmesh-oidc-'));
    keyFile = join(dir, 'legal-agent.jwk.json');
    writeFileSync(keyFile, JSON.stringify(key.privateJwk), { mode: 0o600 });
    pemFile = join(dir, 'manager-agent.pem');
    writeFileSync(pemFile, pemKey.pem, { mode: 0o600 });
    provider = await startOidcProvider({
      audience: AUDIENCE,
      clients: [
        {
          clientId: 'finance-agent',
          clientSecret: SECRET,
          tokenEndpointAuthMethod: 'client_secret_basic',
          scope: 'orgmesh:agent',
          claims: { role: 'finance' },
        },
        {
          clientId: 'accounts-payable-agent',
          clientSecret: SECRET,
          tokenEndpointAuthMethod: 'client_secret_post',
          scope: 'orgmesh:agent',
          // A provider-style mapping: identity in claims other than sub/role.
          claims: { orgmesh: { role: 'accounts-payable', agent: 'accounts-payable-agent' } },
        },
        {
          clientId: 'legal-agent',
          publicJwk: key.publicJwk,
          tokenEndpointAuthMethod: 'private_key_jwt',
          scope: 'orgmesh:agent',
          claims: { role: 'legal' },
        },
        {
          clientId: 'manager-agent',
          publicJwk: pemKey.publicJwk,
          tokenEndpointAuthMethod: 'private_key_jwt',
          scope: 'orgmesh:agent',
          claims: { role: 'manager' },
        },
      ],
    });
    verifier = createJwtVerifier({
      issuer: provider.issuer,
      audience: AUDIENCE,
      jwksUrl: provider.jwksUrl,
      cacheSize: 0,
    });
  });
  afterAll(async () => {
    await provider?.close();
  });

  it('client_secret_basic: discovery, a token the verifier accepts, identity from sub and role', async () => {
    const before = (await provider.stats()).tokenRequests;
    const source = new OidcTokenSource(
      settingsFromEnv({
        ORGMESH_OIDC_ISSUER: provider.issuer,
        ORGMESH_OIDC_CLIENT_ID: 'finance-agent',
        ORGMESH_OIDC_CLIENT_SECRET: SECRET,
        ORGMESH_OIDC_RESOURCE: AUDIENCE,
        ORGMESH_OIDC_SCOPE: 'orgmesh:agent',
      }),
    );
    const [a, b] = await Promise.all([source.current(), source.current()]);
    source.stop();
    expect(a).toBe(b);
    expect((await provider.stats()).tokenRequests - before).toBe(1);
    expect(a).toMatchObject({ subject: 'finance-agent', role: 'finance' });
    const principal = await verifier.verify(`Bearer ${a.token}`);
    expect(principal).toMatchObject({ subject: 'finance-agent', role: 'finance', scopes: ['orgmesh:agent'] });
  });

  it('client_secret_post with the identity in configurable claims, on both sides', async () => {
    const source = new OidcTokenSource(
      settingsFromEnv({
        ORGMESH_OIDC_ISSUER: provider.issuer,
        ORGMESH_OIDC_CLIENT_ID: 'accounts-payable-agent',
        ORGMESH_OIDC_CLIENT_SECRET: SECRET,
        ORGMESH_OIDC_AUTH_METHOD: 'client_secret_post',
        ORGMESH_OIDC_SUBJECT_CLAIM: 'orgmesh.agent',
        ORGMESH_OIDC_ROLE_CLAIM: 'orgmesh.role',
      }),
    );
    const token = await source.current();
    source.stop();
    expect(token).toMatchObject({ subject: 'accounts-payable-agent', role: 'accounts-payable' });
    // A verifier with the default claim names refuses it (no role claim) ...
    await expect(verifier.verify(token.token)).rejects.toMatchObject({ code: 'unauthenticated' });
    // ... one told where the provider puts them takes agent and role from there.
    const mapped = createJwtVerifier({
      issuer: provider.issuer,
      audience: AUDIENCE,
      jwksUrl: provider.jwksUrl,
      claims: { subject: 'orgmesh.agent', role: 'orgmesh.role' },
    });
    expect(await mapped.verify(token.token)).toMatchObject({
      subject: 'accounts-payable-agent',
      role: 'accounts-payable',
    });
  });

  it('private_key_jwt with a JWK file and with a PKCS#8 PEM file', async () => {
    const jwkSource = new OidcTokenSource(
      settingsFromEnv({
        ORGMESH_OIDC_ISSUER: provider.issuer,
        ORGMESH_OIDC_CLIENT_ID: 'legal-agent',
        ORGMESH_OIDC_PRIVATE_KEY_FILE: keyFile,
      }),
    );
    const pemSource = new OidcTokenSource(
      settingsFromEnv({
        ORGMESH_OIDC_ISSUER: provider.issuer,
        ORGMESH_OIDC_CLIENT_ID: 'manager-agent',
        ORGMESH_OIDC_PRIVATE_KEY_FILE: pemFile,
        ORGMESH_OIDC_PRIVATE_KEY_ALG: 'ES256',
      }),
    );
    const legal = await jwkSource.current();
    const manager = await pemSource.current();
    jwkSource.stop();
    pemSource.stop();
    expect(await verifier.verify(legal.token)).toMatchObject({ subject: 'legal-agent', role: 'legal' });
    expect(await verifier.verify(manager.token)).toMatchObject({ subject: 'manager-agent', role: 'manager' });
  });

  it('refuses a wrong secret and a key the client did not register as unauthenticated, naming the OAuth error', async () => {
    const wrongSecret = new OidcTokenSource({
      issuer: provider.issuer,
      clientId: 'finance-agent',
      auth: { method: 'client_secret_basic', secret: 'not-the-secret' },
    });
    const error = await wrongSecret.current().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'unauthenticated', details: { error: 'invalid_client' } });
    expect((error as Error).message).not.toContain('not-the-secret');
    const other = await keyPair();
    const wrongKey = new OidcTokenSource({
      issuer: provider.issuer,
      clientId: 'legal-agent',
      auth: { method: 'private_key_jwt', privateJwk: other.privateJwk },
    });
    await expect(wrongKey.current()).rejects.toMatchObject({ code: 'unauthenticated' });
    wrongSecret.stop();
    wrongKey.stop();
  });
});

describe('OIDC token renewal against oidc-provider (5 s tokens)', () => {
  let provider: OidcTestProvider;
  let verifier: JwtVerifier;
  beforeAll(async () => {
    provider = await startOidcProvider({
      audience: AUDIENCE,
      accessTokenTtlSec: 5,
      clients: [
        {
          clientId: 'finance-agent',
          clientSecret: SECRET,
          tokenEndpointAuthMethod: 'client_secret_basic',
          scope: 'orgmesh:agent',
          claims: { role: 'finance' },
        },
      ],
    });
    // No clock tolerance: "expired" means past exp here, not five seconds later.
    verifier = createJwtVerifier({
      issuer: provider.issuer,
      audience: AUDIENCE,
      jwksUrl: provider.jwksUrl,
      clockToleranceSec: 0,
      cacheSize: 0,
    });
  });
  afterAll(async () => {
    await provider?.close();
  });

  it('renews before expiry: a call after the first token expired carries a new, valid token; two token requests in all', async () => {
    const before = (await provider.stats()).tokenRequests;
    const source = new OidcTokenSource({
      issuer: provider.issuer,
      clientId: 'finance-agent',
      auth: { method: 'client_secret_basic', secret: SECRET },
    });
    try {
      const first = await source.current();
      // Many calls while the token is fresh: served from the cache.
      for (let i = 0; i < 20; i++) expect(await source.current()).toBe(first);
      expect((await provider.stats()).tokenRequests - before).toBe(1);
      // Past the first token's expiry (renewal at 80 % = 4 s ran in the background meanwhile).
      await expectEventually(() => expect(Date.now()).toBeGreaterThan(first.expiresAt + 250), {
        timeoutMs: 8_000,
        intervalMs: 100,
      });
      await expect(verifier.verify(first.token)).rejects.toThrow(/expired/);
      const next = await source.current();
      expect(next.token).not.toBe(first.token);
      expect(await verifier.verify(next.token)).toMatchObject({ subject: 'finance-agent', role: 'finance' });
      expect((await provider.stats()).tokenRequests - before).toBe(2);
    } finally {
      source.stop();
    }
  }, 20_000);

  it('provider down: the cached token keeps being served until it expires, then unavailable; back up, a new token', async () => {
    const source = new OidcTokenSource({
      issuer: provider.issuer,
      clientId: 'finance-agent',
      auth: { method: 'client_secret_basic', secret: SECRET },
      // Renewal at 2.5 s leaves room to observe a failed renewal while the token is still valid.
      renewAtFraction: 0.5,
      maxBackoffMs: 500,
    });
    try {
      const held = await source.current();
      await verifier.verify(held.token);
      await provider.suspend();

      // Past the renewal point, the renewal fails, yet callers still get the valid token.
      await expectEventually(() => expect(Date.now()).toBeGreaterThan(held.expiresAt - 2_000), {
        timeoutMs: 8_000,
        intervalMs: 100,
      });
      expect(await source.current()).toBe(held);
      expect(await verifier.verify(held.token)).toMatchObject({ subject: 'finance-agent' });
      // Once it has expired there is nothing valid to give: a clear, typed error.
      await expectEventually(() => expect(Date.now()).toBeGreaterThan(held.expiresAt), { timeoutMs: 3_000 });
      const error = await source.current().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code: 'unavailable' });
      expect((error as Error).message).toContain(provider.issuer);
      await provider.resume();
      const fresh = await expectEventually(() => source.current(), { timeoutMs: 5_000 });
      expect(fresh.token).not.toBe(held.token);
      expect(await verifier.verify(fresh.token)).toMatchObject({ subject: 'finance-agent' });
    } finally {
      source.stop();
      await provider.resume().catch(() => undefined);
    }
  }, 20_000);
});
