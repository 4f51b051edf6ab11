import { describe, expect, it } from '@jest/globals';
import { AppError } from '@orgmesh/contracts';
import type { AccessToken, AccessTokenSource } from '@orgmesh/agent-sdk';
import { GatewayError } from './gateway.errors.js';
import { OidcGatewayTokenSource, agentTokenSource } from './oidc.token-source.js';
import { ClientCredentialsTokenProvider, claimsOf } from './token.provider.js';

/** A provider whose answers the test scripts; the real one is tested against oidc-provider. */
function scripted(answers: Array<AccessToken | AppError>) {
  const calls = { current: 0, invalidate: 0 };
  const provider: AccessTokenSource = {
    async current() {
      calls.current++;
      const next = answers.shift();
      if (!next) throw new Error('no more answers');
      if (next instanceof AppError) throw next;
      return next;
    },
    invalidate() {
      calls.invalidate++;
    },
    stop() {},
  };
  return { provider, calls };
}

const token = (value: string): AccessToken => ({
  token: value,
  expiresAt: Date.now() + 60_000,
  subject: 'a',
  role: 'r',
});

describe('OIDC tokens for orgmesh-mcp and the runner', () => {
  it('hands out the provider token; refresh=true forgets the cached one first (after a 401)', async () => {
    const { provider, calls } = scripted([token('one'), token('two')]);
    const source = new OidcGatewayTokenSource(provider);
    expect(await source.token()).toBe('one');
    expect(await source.token(true)).toBe('two');
    expect(calls).toEqual({ current: 2, invalidate: 1 });
  });

  it('a provider not reached is status 0 (the runner exits 69), a refusal 401, with the code kept', async () => {
    const { provider } = scripted([
      new AppError('unavailable', 'the OpenID provider https://id.test is unreachable'),
      new AppError('unauthenticated', 'refused client', { details: { error: 'invalid_client' } }),
    ]);
    const source = new OidcGatewayTokenSource(provider);
    const down = await source.token().catch((e: unknown) => e);
    expect(down).toBeInstanceOf(GatewayError);
    expect(down).toMatchObject({ code: 'unavailable', status: 0 });
    const refused = await source.token().catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'unauthenticated',
      status: 401,
      details: { error: 'invalid_client' },
    });
  });

  it('chooses the OpenID provider when configured, the gateway dev issuer otherwise', () => {
    const oidc = agentTokenSource({
      oidc: {
        issuer: 'https://id.test',
        clientId: 'a',
        auth: { method: 'client_secret_basic', secret: 's' },
      },
      gatewayUrl: 'http://gw.test',
      clientId: 'a',
      clientSecret: undefined,
      timeoutMs: 1_000,
    });
    expect(oidc).toBeInstanceOf(OidcGatewayTokenSource);
    (oidc as OidcGatewayTokenSource).stop();
    const dev = agentTokenSource({
      oidc: undefined,
      gatewayUrl: 'http://gw.test',
      clientId: 'a',
      clientSecret: 's',
      timeoutMs: 1_000,
    });
    expect(dev).toBeInstanceOf(ClientCredentialsTokenProvider);
  });

  it('reads the agent id from the configured claim (Keycloak puts it in azp)', () => {
    const jwt = `e30.${Buffer.from(JSON.stringify({ sub: '5f0c-uuid', azp: 'finance-agent', role: 'finance' })).toString('base64url')}.c2ln`;
    expect(claimsOf(jwt).subject).toBe('5f0c-uuid');
    expect(claimsOf(jwt, { subject: 'azp' }).subject).toBe('finance-agent');
  });

  it('reads the role from the configured claim too, so list_tasks filters by it (a nested claim here)', () => {
    const jwt = `e30.${Buffer.from(JSON.stringify({ sub: 'finance-agent', orgmesh: { role: 'finance' } })).toString('base64url')}.c2ln`;
    expect(claimsOf(jwt).role).toBeUndefined();
    expect(claimsOf(jwt, { role: 'orgmesh.role' }).role).toBe('finance');
  });
});
