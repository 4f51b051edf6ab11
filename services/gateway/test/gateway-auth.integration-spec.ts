import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  UnsecuredJWT,
  type CryptoKey,
  type JWK,
} from 'jose';
import { createTestContext, type TestContext } from '@orgmesh/testing';
import { startTestSessions } from '@orgmesh/sessions/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { findDemoRegistryDir } from '../src/auth/dev-clients.js';
import { api, devToken, startTestGateway } from './gateway-harness.js';

type SessionsApp = Awaited<ReturnType<typeof startTestSessions>>;

async function postToken(
  gateway: GatewayApp,
  body: string,
  contentType: string,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${gateway.url}/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...headers },
    body,
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

describe('built-in issuer (AUTH_MODE=dev)', () => {
  let ctx: TestContext;
  let sessions: SessionsApp;
  let gateway: GatewayApp;

  beforeAll(async () => {
    ctx = await createTestContext();
    sessions = await startTestSessions(ctx);
    gateway = await startTestGateway(ctx);
  });

  afterAll(async () => {
    await gateway?.close();
    await sessions?.close();
    await ctx?.dispose();
  });

  it('issues ES256 tokens for client_credentials as JSON, form or HTTP Basic, with subject, role, tenant and scopes', async () => {
    const json = await postToken(
      gateway,
      JSON.stringify({
        grant_type: 'client_credentials',
        client_id: 'finance-agent',
        client_secret: 'finance-agent-dev-secret',
      }),
      'application/json',
    );
    expect(json.status).toBe(200);
    expect(json.headers.get('cache-control')).toBe('no-store');
    expect(json.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'orgmesh:agent' });
    const header = decodeProtectedHeader(json.body['access_token']);
    expect(header).toMatchObject({ alg: 'ES256', kid: gateway.identity.dev?.issuer.currentKid });
    expect(decodeJwt(json.body['access_token'])).toMatchObject({
      sub: 'finance-agent',
      role: 'finance',
      tenant: 'default',
      scope: 'orgmesh:agent',
      iss: gateway.url,
      aud: 'orgmesh',
      client_id: 'finance-agent',
    });

    const form = await postToken(
      gateway,
      'grant_type=client_credentials&client_id=admin&client_secret=admin-dev-secret',
      'application/x-www-form-urlencoded',
    );
    expect(form.status).toBe(200);
    expect(decodeJwt(form.body['access_token'])).toMatchObject({
      sub: 'admin',
      role: 'admin',
      scope: 'orgmesh:admin orgmesh:read',
    });

    const basic = await postToken(
      gateway,
      'grant_type=client_credentials',
      'application/x-www-form-urlencoded',
      {
        authorization: `Basic ${Buffer.from('legal-agent:legal-agent-dev-secret').toString('base64')}`,
      },
    );
    expect(basic.status).toBe(200);
    expect(decodeJwt(basic.body['access_token'])).toMatchObject({ sub: 'legal-agent', role: 'legal' });

    // The token works on the API.
    const list = await api(gateway, 'GET', '/v1/sessions', { token: json.body['access_token'] });
    expect(list.status).toBe(200);
  });

  it('refuses wrong secrets and unknown clients alike (401 invalid_client), and malformed requests (400)', async () => {
    const wrong = await postToken(
      gateway,
      JSON.stringify({
        grant_type: 'client_credentials',
        client_id: 'admin',
        client_secret: 'finance-agent-dev-secret',
      }),
      'application/json',
    );
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ code: 'unauthenticated', error: 'invalid_client' });
    const unknown = await postToken(
      gateway,
      JSON.stringify({
        grant_type: 'client_credentials',
        client_id: 'nobody',
        client_secret: 'nobody-dev-secret',
      }),
      'application/json',
    );
    expect(unknown.status).toBe(401);
    expect(unknown.body['detail']).toBe(wrong.body['detail']);

    const grant = await postToken(
      gateway,
      'grant_type=password&client_id=admin&client_secret=admin-dev-secret',
      'application/x-www-form-urlencoded',
    );
    expect(grant.status).toBe(400);
    expect(grant.body).toMatchObject({ code: 'validation_failed', error: 'unsupported_grant_type' });
    const missing = await postToken(
      gateway,
      JSON.stringify({ grant_type: 'client_credentials' }),
      'application/json',
    );
    expect(missing.status).toBe(400);
    expect(missing.body['issues'].map((i: { path: string }) => i.path)).toEqual([
      'body.client_id',
      'body.client_secret',
    ]);
  });

  it('narrows scopes on request and refuses scopes the client does not have', async () => {
    const narrowed = await postToken(
      gateway,
      JSON.stringify({
        grant_type: 'client_credentials',
        client_id: 'admin',
        client_secret: 'admin-dev-secret',
        scope: 'orgmesh:read',
      }),
      'application/json',
    );
    expect(narrowed.status).toBe(200);
    expect(narrowed.body['scope']).toBe('orgmesh:read');
    const write = await api(gateway, 'POST', '/v1/sessions', {
      token: narrowed.body['access_token'],
      body: { agentId: 'finance-agent', role: 'finance' },
    });
    expect(write.status).toBe(403);
    const escalate = await postToken(
      gateway,
      JSON.stringify({
        grant_type: 'client_credentials',
        client_id: 'finance-agent',
        client_secret: 'finance-agent-dev-secret',
        scope: 'orgmesh:admin',
      }),
      'application/json',
    );
    expect(escalate.status).toBe(400);
    expect(escalate.body['error']).toBe('invalid_scope');
  });

  it('serves its JWKS and discovery document', async () => {
    const jwks = await api(gateway, 'GET', '/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys).toHaveLength(1);
    expect(jwks.body.keys[0]).toMatchObject({
      kty: 'EC',
      crv: 'P-256',
      alg: 'ES256',
      use: 'sig',
      kid: gateway.identity.dev?.issuer.currentKid,
    });
    expect(jwks.body.keys[0]).not.toHaveProperty('d');
    const discovery = await api(gateway, 'GET', '/.well-known/openid-configuration');
    expect(discovery.body).toMatchObject({
      issuer: gateway.url,
      jwks_uri: `${gateway.url}/.well-known/jwks.json`,
      token_endpoint: `${gateway.url}/v1/auth/token`,
      // authorization_code: people of the org chart sign in to the console with PKCE (ADR 0020).
      grant_types_supported: ['client_credentials', 'authorization_code'],
      authorization_endpoint: `${gateway.url}/v1/auth/authorize`,
      code_challenge_methods_supported: ['S256'],
    });
  });

  it('rotates its signing key with overlap: tokens signed before a rotation stay valid, new ones use the new kid', async () => {
    const before = await devToken(gateway, 'manager-agent');
    const dev = gateway.identity.dev;
    if (!dev) throw new Error('dev identity expected');
    const oldKid = dev.issuer.currentKid;
    const newKid = await dev.issuer.rotate();
    const jwks = await api(gateway, 'GET', '/.well-known/jwks.json');
    expect(jwks.body.keys.map((k: JWK) => k.kid)).toEqual([oldKid, newKid]);
    const after = await devToken(gateway, 'manager-agent');
    expect(decodeProtectedHeader(after).kid).toBe(newKid);
    expect((await api(gateway, 'GET', '/v1/sessions', { token: before })).status).toBe(200);
    expect((await api(gateway, 'GET', '/v1/sessions', { token: after })).status).toBe(200);
  });

  it('has one dev client per agent of the demo registry, plus admin and viewer', () => {
    const dir = findDemoRegistryDir();
    expect(dir).toBeDefined();
    const agentIds = readdirSync(join(dir as string, 'agents'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.replace(/\.yaml$/, ''));
    expect(agentIds.length).toBeGreaterThanOrEqual(3);
    expect(gateway.identity.dev?.clients.clientIds().sort()).toEqual(['admin', 'viewer', ...agentIds].sort());
    expect(gateway.identity.dev?.clients.get('finance-agent')).toMatchObject({
      role: 'finance',
      scopes: ['orgmesh:agent'],
    });
  });
});

/** An external OIDC issuer for the test: its own key pair, its JWKS served over HTTP. */
class ExternalIssuer {
  private server: Server | undefined;
  url = '';
  constructor(
    readonly issuer: string,
    readonly audience: string,
    readonly kid: string,
    readonly privateKey: CryptoKey,
    readonly publicKey: CryptoKey,
    readonly publicJwk: JWK,
  ) {}

  static async create(): Promise<ExternalIssuer> {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'ext-1', alg: 'ES256', use: 'sig' };
    return new ExternalIssuer(
      'https://issuer.test/realms/orgmesh',
      'orgmesh-api',
      'ext-1',
      privateKey,
      publicKey,
      publicJwk,
    );
  }

  async start(): Promise<void> {
    this.server = createServer((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: [this.publicJwk] }));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/jwks`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  sign(
    overrides: {
      iss?: string;
      aud?: string;
      exp?: number;
      kid?: string;
      key?: CryptoKey;
      role?: string;
      scope?: string;
    } = {},
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      role: overrides.role ?? 'finance',
      tenant: 'default',
      scope: overrides.scope ?? 'orgmesh:agent',
    })
      .setProtectedHeader({ alg: 'ES256', kid: overrides.kid ?? this.kid, typ: 'JWT' })
      .setSubject('finance-agent')
      .setIssuer(overrides.iss ?? this.issuer)
      .setAudience(overrides.aud ?? this.audience)
      .setIssuedAt(now)
      .setExpirationTime(overrides.exp ?? now + 600)
      .sign(overrides.key ?? this.privateKey);
  }
}

describe('external issuer (AUTH_MODE=oidc): every bad token is 401', () => {
  let ctx: TestContext;
  let sessions: SessionsApp;
  let gateway: GatewayApp;
  let issuer: ExternalIssuer;

  beforeAll(async () => {
    ctx = await createTestContext();
    issuer = await ExternalIssuer.create();
    await issuer.start();
    sessions = await startTestSessions(ctx);
    gateway = await startTestGateway(ctx, {
      AUTH_MODE: 'oidc',
      AUTH_ISSUER: issuer.issuer,
      AUTH_AUDIENCE: issuer.audience,
      AUTH_JWKS_URL: issuer.url,
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await sessions?.close();
    await issuer?.stop();
    await ctx?.dispose();
  });

  it('accepts a valid token from the external issuer', async () => {
    const res = await api(gateway, 'GET', '/v1/sessions', { token: await issuer.sign() });
    expect(res.status).toBe(200);
  });

  const cases: Array<[string, (i: ExternalIssuer) => Promise<string | undefined>, RegExp]> = [
    ['no token', async () => undefined, /missing bearer token/],
    ['an expired token', (i) => i.sign({ exp: Math.floor(Date.now() / 1000) - 120 }), /expired/],
    ['the wrong issuer', (i) => i.sign({ iss: 'https://elsewhere.test' }), /"iss"/],
    ['the wrong audience', (i) => i.sign({ aud: 'another-api' }), /"aud"/],
    [
      'alg: none',
      async (i) =>
        new UnsecuredJWT({ role: 'admin', scope: 'orgmesh:admin' })
          .setSubject('admin')
          .setIssuer(i.issuer)
          .setAudience(i.audience)
          .setExpirationTime('10m')
          .encode(),
      /algorithm|malformed|unsupported/,
    ],
    [
      'an HS256 token signed with the public key',
      async (i) => {
        const pem = await exportSPKI(i.publicKey);
        return new SignJWT({ role: 'admin', scope: 'orgmesh:admin' })
          .setProtectedHeader({ alg: 'HS256', kid: i.kid })
          .setSubject('admin')
          .setIssuer(i.issuer)
          .setAudience(i.audience)
          .setExpirationTime('10m')
          .sign(new TextEncoder().encode(pem));
      },
      /algorithm/,
    ],
    [
      'a tampered signature',
      async (i) => {
        const [h, p, s] = (await i.sign()).split('.') as [string, string, string];
        const flipped = s.startsWith('A') ? `B${s.slice(1)}` : `A${s.slice(1)}`;
        return `${h}.${p}.${flipped}`;
      },
      /signature/,
    ],
    [
      'a tampered payload (role escalated)',
      async (i) => {
        const [h, , s] = (await i.sign()).split('.') as [string, string, string];
        const forged = Buffer.from(
          JSON.stringify({
            sub: 'finance-agent',
            role: 'admin',
            scope: 'orgmesh:admin',
            iss: i.issuer,
            aud: i.audience,
            exp: 9_999_999_999,
          }),
        ).toString('base64url');
        return `${h}.${forged}.${s}`;
      },
      /signature/,
    ],
    [
      'an unknown kid',
      async (i) => {
        const { privateKey } = await generateKeyPair('ES256');
        return i.sign({ kid: 'rogue-key', key: privateKey });
      },
      /kid|key/,
    ],
  ];

  it.each(cases)('refuses %s with 401', async (_name, make, reason) => {
    const token = await make(issuer);
    const rest = await api(gateway, 'GET', '/v1/sessions', { token });
    expect(rest.status).toBe(401);
    expect(rest.headers.get('content-type')).toBe('application/problem+json');
    expect(rest.body).toMatchObject({ code: 'unauthenticated', status: 401 });
    expect(rest.body.detail).toMatch(reason);
    expect(rest.headers.get('www-authenticate')).toMatch(/^Bearer realm="orgmesh"/);
    // Writes are refused the same way, before anything reaches a service.
    const write = await api(gateway, 'POST', '/v1/sessions', { token, body: { agentId: 'finance-agent' } });
    expect(write.status).toBe(401);
  });

  it('requires the Bearer scheme (case-insensitive, RFC 7235): a bare token or another scheme is 401', async () => {
    const token = await issuer.sign();
    for (const value of [token, `Basic ${token}`, `Token ${token}`, `Bearer`, `Bearer${token}`]) {
      const res = await api(gateway, 'GET', '/v1/sessions', { headers: { authorization: value } });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 'unauthenticated', status: 401 });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="orgmesh"/);
    }
    const bare = await api(gateway, 'GET', '/v1/sessions', { headers: { authorization: token } });
    expect(bare.body.detail).toMatch(/Bearer scheme/);
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      const res = await api(gateway, 'GET', '/v1/sessions', { headers: { authorization: `${scheme} ${token}` } });
      expect(res.status).toBe(200);
    }
    // The event stream authenticates the same way.
    const sse = await fetch(`${gateway.url}/v1/events`, { headers: { authorization: token } });
    expect(sse.status).toBe(401);
    await sse.body?.cancel();
  });

  it('refuses a valid token that carries no orgmesh scope (403)', async () => {
    const res = await api(gateway, 'GET', '/v1/sessions', {
      token: await issuer.sign({ scope: 'openid profile' }),
    });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('forbidden');
  });

  it('serves no token endpoint or dev keys in oidc mode, and documents none', async () => {
    const token = await api(gateway, 'POST', '/v1/auth/token', {
      body: { grant_type: 'client_credentials', client_id: 'admin', client_secret: 'admin-dev-secret' },
    });
    expect(token.status).toBe(404);
    expect((await api(gateway, 'GET', '/.well-known/jwks.json')).status).toBe(404);
    const paths = Object.keys((gateway.openapi['paths'] ?? {}) as Record<string, unknown>);
    expect(paths).not.toContain('/v1/auth/token');
    expect(paths).toContain('/v1/sessions');
  });
});
