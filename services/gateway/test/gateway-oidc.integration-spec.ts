import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeProtectedHeader } from 'jose';
import { OidcTokenSource } from '@orgmesh/agent-sdk';
import {
  createTestContext,
  expectEventually,
  startOidcProvider,
  type OidcTestProvider,
  type TestContext,
} from '@orgmesh/testing';
import { startTestSessions } from '@orgmesh/sessions/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { createIdentity, type GatewayIdentity } from '../src/auth/identity.js';
import { api, gatewayTestConfig, silentLogger, startTestGateway } from './gateway-harness.js';

// The gateway in production mode (AUTH_MODE=oidc) against a real OpenID provider (oidc-provider).
const AUDIENCE = 'urn:orgmesh:api';
const SECRET = `secret-${Math.random().toString(36).slice(2)}`;

const CLIENTS = [
  {
    clientId: 'finance-agent',
    clientSecret: SECRET,
    tokenEndpointAuthMethod: 'client_secret_basic' as const,
    scope: 'orgmesh:agent',
    claims: { role: 'finance' },
  },
  {
    // Identity in provider-specific claims, as an operator's mappers would put it.
    clientId: 'legal-agent',
    clientSecret: SECRET,
    tokenEndpointAuthMethod: 'client_secret_basic' as const,
    scope: 'orgmesh:agent',
    claims: { orgmesh: { agent: 'legal-agent', role: 'legal' } },
  },
];

function tokens(provider: OidcTestProvider, clientId: string) {
  return new OidcTokenSource({
    issuer: provider.issuer,
    clientId,
    auth: { method: 'client_secret_basic', secret: SECRET },
    // oidc-provider grants no scope it was not asked for (Keycloak adds default client scopes itself).
    scope: 'orgmesh:agent',
  });
}

describe('gateway identity in OIDC mode: JWKS rotation, issuer outages, claim mapping', () => {
  let provider: OidcTestProvider;
  let ctx: TestContext;
  let identity: GatewayIdentity;
  let mapped: GatewayIdentity;

  beforeAll(async () => {
    ctx = await createTestContext();
    provider = await startOidcProvider({ audience: AUDIENCE, clients: CLIENTS });
    const oidc = {
      AUTH_MODE: 'oidc',
      AUTH_ISSUER: provider.issuer,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_URL: provider.jwksUrl,
    };
    identity = await createIdentity(gatewayTestConfig(ctx, oidc), 'http://127.0.0.1:0', silentLogger);
    mapped = await createIdentity(
      gatewayTestConfig(ctx, {
        ...oidc,
        AUTH_SUBJECT_CLAIM: 'orgmesh.agent',
        AUTH_ROLE_CLAIM: 'orgmesh.role',
      }),
      'http://127.0.0.1:0',
      silentLogger,
    );
  });
  afterAll(async () => {
    identity?.close();
    mapped?.close();
    await provider?.close();
    await ctx?.dispose();
  });

  it('a new kid after a rotation refetches the JWKS once; tokens of the old key keep verifying', async () => {
    const finance = tokens(provider, 'finance-agent');
    const before = await finance.current();
    expect(await identity.authenticate(`Bearer ${before.token}`)).toMatchObject({
      subject: 'finance-agent',
      role: 'finance',
      kind: 'agent',
    });
    const fetchesBefore = (await provider.stats()).jwksRequests;
    const newKid = await provider.rotateKey();
    finance.invalidate();
    const after = await finance.current();
    finance.stop();
    expect(decodeProtectedHeader(after.token).kid).toBe(newKid);
    expect(decodeProtectedHeader(before.token).kid).not.toBe(newKid);
    expect(await identity.authenticate(`Bearer ${after.token}`)).toMatchObject({ subject: 'finance-agent' });
    expect((await provider.stats()).jwksRequests - fetchesBefore).toBe(1);
    // Known now: no further fetch.
    await identity.authenticate(`Bearer ${after.token}`);
    expect((await provider.stats()).jwksRequests - fetchesBefore).toBe(1);
    expect(await identity.authenticate(`Bearer ${before.token}`)).toMatchObject({ subject: 'finance-agent' });
  });

  it('the issuer unreachable: tokens signed with known keys still verify; an unknown kid is refused as unauthenticated', async () => {
    const finance = tokens(provider, 'finance-agent');
    finance.invalidate();
    const known = await finance.current();
    await provider.rotateKey();
    finance.invalidate();
    const unknownKid = await finance.current();
    finance.stop();
    await provider.suspend();
    try {
      expect(await identity.authenticate(`Bearer ${known.token}`)).toMatchObject({
        subject: 'finance-agent',
      });
      await expect(identity.authenticate(`Bearer ${unknownKid.token}`)).rejects.toMatchObject({
        code: 'unauthenticated',
        message: expect.stringMatching(/unknown signing key/),
      });
    } finally {
      await provider.resume();
    }
    // Back up: the new kid is fetched (after the refetch cooldown) and verifies.
    await expectEventually(
      async () =>
        expect(await identity.authenticate(`Bearer ${unknownKid.token}`)).toMatchObject({ role: 'finance' }),
      { timeoutMs: 10_000, intervalMs: 250 },
    );
  }, 20_000);

  it('takes agent id and role from the configured claims (AUTH_SUBJECT_CLAIM, AUTH_ROLE_CLAIM)', async () => {
    const raw = await rawToken(provider, 'legal-agent');
    // The default claim names find no role in it ...
    await expect(identity.authenticate(`Bearer ${raw}`)).rejects.toMatchObject({ code: 'unauthenticated' });
    // ... the configured ones do.
    expect(await mapped.authenticate(`Bearer ${raw}`)).toMatchObject({
      subject: 'legal-agent',
      role: 'legal',
      kind: 'agent',
    });
  });
});

async function rawToken(provider: OidcTestProvider, clientId: string): Promise<string> {
  const source = new OidcTokenSource({
    issuer: provider.issuer,
    clientId,
    auth: { method: 'client_secret_basic', secret: SECRET },
    scope: 'orgmesh:agent',
    claims: { subject: 'orgmesh.agent', role: 'orgmesh.role' },
  });
  try {
    return (await source.current()).token;
  } finally {
    source.stop();
  }
}

describe('gateway in OIDC mode end to end: an agent token minted by oidc-provider', () => {
  let ctx: TestContext;
  let provider: OidcTestProvider;
  let sessions: Awaited<ReturnType<typeof startTestSessions>>;
  let gateway: GatewayApp;

  beforeAll(async () => {
    ctx = await createTestContext();
    provider = await startOidcProvider({ audience: AUDIENCE, clients: CLIENTS });
    sessions = await startTestSessions(ctx);
    gateway = await startTestGateway(ctx, {
      AUTH_MODE: 'oidc',
      AUTH_ISSUER: provider.issuer,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_URL: provider.jwksUrl,
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await sessions?.close();
    await provider?.close();
    await ctx?.dispose();
  });

  it('opens a session over REST as the agent and role the token names', async () => {
    const finance = tokens(provider, 'finance-agent');
    const { token } = await finance.current();
    finance.stop();
    const created = await api(gateway, 'POST', '/v1/sessions', { token, body: { agentId: 'finance-agent' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ agentId: 'finance-agent', role: 'finance' });
    const listed = await api(gateway, 'GET', '/v1/sessions', { token });
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).toContain(created.body['id']);
  });
});
