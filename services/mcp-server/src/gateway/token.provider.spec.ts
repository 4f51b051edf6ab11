import { describe, expect, it } from '@jest/globals';
import { fakeFetch, tokenWith } from '../../test/fake-fetch.js';
import { GatewayError } from './gateway.errors.js';
import { ClientCredentialsTokenProvider, claimsOf } from './token.provider.js';

function provider(handler: Parameters<typeof fakeFetch>[0], clock = { now: 1_000_000 }) {
  const fake = fakeFetch(handler);
  const tokens = new ClientCredentialsTokenProvider({
    gatewayUrl: 'http://gw.test',
    clientId: 'finance-agent',
    clientSecret: 'finance-agent-dev-secret',
    fetch: fake.fetch,
    now: () => clock.now,
  });
  return { tokens, calls: fake.calls, clock };
}

describe('ClientCredentialsTokenProvider', () => {
  it('obtains a token with client credentials and reuses it while it is fresh', async () => {
    let n = 0;
    const { tokens, calls } = provider(() => ({
      status: 200,
      body: { access_token: `t${++n}`, token_type: 'Bearer', expires_in: 3600 },
    }));
    expect(await tokens.token()).toBe('t1');
    expect(await tokens.token()).toBe('t1');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      method: 'POST',
      body: {
        grant_type: 'client_credentials',
        client_id: 'finance-agent',
        client_secret: 'finance-agent-dev-secret',
      },
    });
    expect(calls[0]?.url.href).toBe('http://gw.test/v1/auth/token');
  });

  it('renews before expiry: at 80% of the lifetime, and at least 30 s early', async () => {
    let n = 0;
    const { tokens, clock } = provider(() => ({
      status: 200,
      body: { access_token: `t${++n}`, expires_in: 100 },
    }));
    expect(await tokens.token()).toBe('t1');
    clock.now += 69_000;
    expect(await tokens.token()).toBe('t1');
    clock.now += 2_000; // 71 s of 100: past the 70 s mark (100 - 30)
    expect(await tokens.token()).toBe('t2');
    clock.now += 1_000;
    expect(await tokens.token(true)).toBe('t3');
  });

  it('shares one request between concurrent callers', async () => {
    const { tokens, calls } = provider(() => ({
      status: 200,
      body: { access_token: 'shared', expires_in: 60 },
    }));
    expect(await Promise.all([tokens.token(), tokens.token(), tokens.token()])).toEqual([
      'shared',
      'shared',
      'shared',
    ]);
    expect(calls).toHaveLength(1);
  });

  it('reports a refused secret with the gateway code, and an unreachable gateway as unavailable', async () => {
    const refused = provider(() => ({
      status: 401,
      body: { code: 'unauthenticated', detail: 'invalid client credentials', status: 401 },
      contentType: 'application/problem+json',
    }));
    const error = await refused.tokens.token().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({
      code: 'unauthenticated',
      status: 401,
      message: 'token for client "finance-agent" refused: invalid client credentials',
    });
    const down = provider(() =>
      Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }),
    );
    await expect(down.tokens.token()).rejects.toMatchObject({
      code: 'unavailable',
      message: 'the gateway at http://gw.test is unreachable (ECONNREFUSED)',
    });
    // A failure is not cached: the next call tries again.
    expect(down.calls).toHaveLength(1);
    await down.tokens.token().catch(() => undefined);
    expect(down.calls).toHaveLength(2);
  });

  it('reads claims without verifying them (the gateway verifies)', () => {
    expect(claimsOf(tokenWith({ sub: 'finance-agent', role: 'finance', exp: 2_000 }))).toEqual({
      subject: 'finance-agent',
      role: 'finance',
      expiresAt: 2_000_000,
    });
    expect(claimsOf('not a jwt')).toEqual({ subject: undefined, role: undefined, expiresAt: undefined });
  });
});
