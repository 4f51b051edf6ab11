import { randomBytes, createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createTestContext, type TestContext } from '@orgmesh/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { startTestGateway } from './gateway-harness.js';

// People sign in at the built-in issuer with the authorization code flow and PKCE S256 (issue 23),
// over real HTTP against a real gateway; the browser's part is played by fetch with manual redirects.
const PEOPLE = [
  { id: 'u00002', name: 'Yara Quinn', email: 'yara.quinn@example.com', department: 'Finance' },
  { id: 'u00004', name: 'Julia Fischer', email: 'julia.fischer@example.com', department: 'Finance' },
];
const PASSWORDS = new Map([
  ['u00002', 'yara-test-password'],
  ['u00004', 'julia-test-password'],
  ['operator', 'operator-test-password'],
]);

const verifierOf = () => randomBytes(32).toString('base64url');
const challengeOf = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

describe('people sign in (authorization code + PKCE at the dev issuer)', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let redirectUri: string;

  beforeAll(async () => {
    ctx = await createTestContext();
    gateway = await startTestGateway(ctx, {}, { people: { people: PEOPLE, passwords: PASSWORDS } });
    redirectUri = `${gateway.url}/console/`;
  });

  afterAll(async () => {
    await gateway?.close();
    await ctx?.dispose();
  });

  function authorizeQuery(challenge: string, overrides: Record<string, string> = {}): URLSearchParams {
    return new URLSearchParams({
      response_type: 'code',
      client_id: 'orgmesh-console',
      redirect_uri: redirectUri,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'st-123',
      ...overrides,
    });
  }

  /** The form post a browser sends; answers the redirect (or the form again). */
  async function submit(params: URLSearchParams, login: string, password: string): Promise<Response> {
    const form = new URLSearchParams(params);
    form.set('login', login);
    form.set('password', password);
    return fetch(`${gateway.url}/v1/auth/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      redirect: 'manual',
    });
  }

  async function codeFor(
    challenge: string,
    login = 'u00004',
    password = 'julia-test-password',
  ): Promise<string> {
    const res = await submit(authorizeQuery(challenge), login, password);
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    expect(location.searchParams.get('state')).toBe('st-123');
    return location.searchParams.get('code') ?? '';
  }

  async function redeem(
    fields: Record<string, string>,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${gateway.url}/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('serves the sign-in form, then a code, then a person token (sub = user id, role person, scope orgmesh:person)', async () => {
    const verifier = verifierOf();
    const page = await fetch(
      `${gateway.url}/v1/auth/authorize?${authorizeQuery(challengeOf(verifier)).toString()}`,
    );
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const html = await page.text();
    expect(html).toContain('<form method="post" action="/v1/auth/authorize">');
    expect(html).toContain(`name="code_challenge" value="${challengeOf(verifier)}"`);

    const code = await codeFor(challengeOf(verifier), 'julia.fischer@example.com');
    const token = await redeem({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: 'orgmesh-console',
      code_verifier: verifier,
    });
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({ token_type: 'Bearer', scope: 'orgmesh:person' });
    // Verified as any service verifies it: the issuer's published keys.
    const jwks = createRemoteJWKSet(new URL(`${gateway.url}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(String(token.body['access_token']), jwks, {
      issuer: gateway.identity.issuer,
      audience: gateway.identity.audience,
    });
    expect(payload).toMatchObject({
      sub: 'u00004',
      role: 'person',
      scope: 'orgmesh:person',
      client_id: 'orgmesh-console',
    });
  });

  it("signs the dev operator in with an admin's token: the console's operator pages, where a person is refused", async () => {
    const verifier = verifierOf();
    const code = await codeFor(challengeOf(verifier), 'operator', 'operator-test-password');
    const token = await redeem({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: 'orgmesh-console',
      code_verifier: verifier,
    });
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({ token_type: 'Bearer', scope: 'orgmesh:admin orgmesh:read' });
    const bearer = (access: unknown) => ({ authorization: `Bearer ${String(access)}` });
    const whoami = await fetch(`${gateway.url}/v1/auth/whoami`, { headers: bearer(token.body['access_token']) });
    expect(await whoami.json()).toMatchObject({ subject: 'operator', kind: 'admin' });
    // A person signed in the same way reads no operator page (GET /v1/agents answers them 403).
    const personVerifier = verifierOf();
    const person = await redeem({
      grant_type: 'authorization_code',
      code: await codeFor(challengeOf(personVerifier)),
      redirect_uri: redirectUri,
      client_id: 'orgmesh-console',
      code_verifier: personVerifier,
    });
    const agents = (access: unknown) => fetch(`${gateway.url}/v1/agents`, { headers: bearer(access) });
    expect((await agents(person.body['access_token'])).status).toBe(403);
    expect((await agents(token.body['access_token'])).status).not.toBe(403);
  });

  it('refuses a wrong code_verifier, and the code cannot be retried with the right one', async () => {
    const verifier = verifierOf();
    const code = await codeFor(challengeOf(verifier));
    const base = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: 'orgmesh-console',
    };
    const wrong = await redeem({ ...base, code_verifier: verifierOf() });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({
      code: 'validation_failed',
      error: 'invalid_grant',
      detail: expect.stringContaining('code_verifier'),
    });
    const retried = await redeem({ ...base, code_verifier: verifier });
    expect(retried.status).toBe(400);
    expect(retried.body['detail']).toContain('already used');
  });

  it('refuses a reused code', async () => {
    const verifier = verifierOf();
    const code = await codeFor(challengeOf(verifier));
    const fields = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: 'orgmesh-console',
      code_verifier: verifier,
    };
    expect((await redeem(fields)).status).toBe(200);
    const again = await redeem(fields);
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({
      error: 'invalid_grant',
      detail: expect.stringContaining('already used'),
    });
  });

  it('refuses a redirect_uri that was not registered (400, never redirected) or differs at the token endpoint', async () => {
    const verifier = verifierOf();
    const evil = await fetch(
      `${gateway.url}/v1/auth/authorize?${authorizeQuery(challengeOf(verifier), { redirect_uri: 'https://evil.example/console/' }).toString()}`,
      { redirect: 'manual' },
    );
    expect(evil.status).toBe(400);
    expect(evil.headers.get('location')).toBeNull();
    expect(evil.headers.get('content-type')).toBe('application/problem+json');
    const posted = await submit(
      authorizeQuery(challengeOf(verifier), { redirect_uri: `${gateway.url}/console/evil` }),
      'u00004',
      'julia-test-password',
    );
    expect(posted.status).toBe(400);

    const code = await codeFor(challengeOf(verifier));
    const other = await redeem({
      grant_type: 'authorization_code',
      code,
      redirect_uri: `${gateway.url}/console/other`,
      client_id: 'orgmesh-console',
      code_verifier: verifier,
    });
    expect(other.status).toBe(400);
    expect(other.body['detail']).toContain('redirect_uri differs');
  });

  it('refuses an unknown client, sends a missing PKCE challenge back as error=invalid_request, and re-asks on a wrong password', async () => {
    const unknown = await fetch(
      `${gateway.url}/v1/auth/authorize?${authorizeQuery(challengeOf(verifierOf()), { client_id: 'nope' }).toString()}`,
      {
        redirect: 'manual',
      },
    );
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as Record<string, unknown>)['error']).toBe('invalid_client');

    const plain = await fetch(
      `${gateway.url}/v1/auth/authorize?${authorizeQuery('x'.repeat(43), { code_challenge_method: 'plain' }).toString()}`,
      { redirect: 'manual' },
    );
    expect(plain.status).toBe(303);
    const back = new URL(plain.headers.get('location') ?? '');
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('state')).toBe('st-123');

    const wrong = await submit(authorizeQuery(challengeOf(verifierOf())), 'u00004', 'yara-test-password');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('location')).toBeNull();
    const html = await wrong.text();
    expect(html).toContain('Wrong user id or password.');
    expect(html).not.toContain('yara-test-password');
    const nobody = await submit(authorizeQuery(challengeOf(verifierOf())), 'u99999', 'julia-test-password');
    expect(nobody.status).toBe(401);
  });

  it('announces the authorization endpoint and S256 in the discovery document', async () => {
    const doc = (await (await fetch(`${gateway.url}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(doc).toMatchObject({
      authorization_endpoint: `${gateway.identity.issuer}/v1/auth/authorize`,
      code_challenge_methods_supported: ['S256'],
      grant_types_supported: ['client_credentials', 'authorization_code'],
    });
  });

  it('keeps the client_credentials grant as it was', async () => {
    const res = await redeem({
      grant_type: 'client_credentials',
      client_id: 'viewer',
      client_secret: 'viewer-dev-secret',
    });
    expect(res.status).toBe(200);
    expect(res.body['scope']).toBe('orgmesh:read');
  });
});
