import { describe, expect, it } from '@jest/globals';
import { AppError } from '@orgmesh/contracts';
import { GatewayTokenSource, parseAccessToken } from './token-source.js';

const jwt = (claims: Record<string, unknown>) =>
  `${Buffer.from('{"alg":"ES256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

function tokenEndpoint(responses: Array<() => Response | Promise<Response>>) {
  const calls: Array<{ url: string; body: string; contentType: string | null }> = [];
  const fetchImpl = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({
      url: String(url),
      body: String(init?.body),
      contentType: new Headers(init?.headers).get('content-type'),
    });
    const next = responses.shift();
    if (!next) throw new Error('no more responses');
    return next();
  }) as typeof fetch;
  return { calls, fetchImpl };
}

const ok =
  (claims: Record<string, unknown>, expiresIn = 3600) =>
  () =>
    new Response(JSON.stringify({ access_token: jwt(claims), token_type: 'Bearer', expires_in: expiresIn }), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });

describe('client-credentials token source', () => {
  it('posts client_credentials to <gateway>/v1/auth/token and reads the identity from the token', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const { calls, fetchImpl } = tokenEndpoint([ok({ sub: 'finance-agent', role: 'finance', exp })]);
    const source = new GatewayTokenSource({
      gatewayUrl: 'http://gw.test/',
      clientId: 'finance-agent',
      clientSecret: 's3cret',
      fetch: fetchImpl,
    });
    const token = await source.current();
    source.stop();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.url).toBe('http://gw.test/v1/auth/token');
    expect(calls[0]!.contentType).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(calls[0]!.body))).toEqual({
      grant_type: 'client_credentials',
      client_id: 'finance-agent',
      client_secret: 's3cret',
    });
    expect(token).toMatchObject({ subject: 'finance-agent', role: 'finance', expiresAt: exp * 1000 });
  });

  it('serves the cached token, shares one request between concurrent callers, fetches again when close to expiry or invalidated', async () => {
    const soon = Math.floor(Date.now() / 1000) + 5; // within the refresh margin
    const later = Math.floor(Date.now() / 1000) + 3600;
    const { calls, fetchImpl } = tokenEndpoint([
      ok({ sub: 'a', role: 'r', exp: soon }),
      ok({ sub: 'a', role: 'r', exp: later }),
      ok({ sub: 'a', role: 'r', exp: later + 1 }),
    ]);
    const source = new GatewayTokenSource({
      gatewayUrl: 'http://gw.test',
      clientId: 'a',
      clientSecret: 'b',
      fetch: fetchImpl,
    });
    const [first, second] = await Promise.all([source.current(), source.current()]);
    expect(first).toBe(second);
    expect(calls).toHaveLength(1);
    const refreshed = await source.current();
    expect(refreshed.expiresAt).toBe(later * 1000);
    expect(await source.current()).toBe(refreshed);
    expect(calls).toHaveLength(2);
    source.invalidate();
    expect((await source.current()).expiresAt).toBe((later + 1) * 1000);
    source.stop();
  });

  it('refuses wrong credentials as unauthenticated, and an unreachable gateway as unavailable', async () => {
    const { fetchImpl } = tokenEndpoint([
      () => new Response(JSON.stringify({ code: 'unauthenticated' }), { status: 401 }),
      () => Promise.reject(new TypeError('fetch failed')),
    ]);
    const source = new GatewayTokenSource({
      gatewayUrl: 'http://gw.test',
      clientId: 'a',
      clientSecret: 'wrong',
      fetch: fetchImpl,
    });
    await expect(source.current()).rejects.toMatchObject({ code: 'unauthenticated' });
    await expect(source.current()).rejects.toMatchObject({ code: 'unavailable' });
    source.stop();
  });

  it('parses sub, role and exp; a token without them is refused', () => {
    expect(parseAccessToken(jwt({ sub: 's', role: 'r', exp: 10 }))).toMatchObject({
      subject: 's',
      role: 'r',
      expiresAt: 10_000,
    });
    expect(() => parseAccessToken(jwt({ sub: 's' }))).toThrow(AppError);
    expect(() => parseAccessToken('not-a-jwt')).toThrow('not a JWT');
  });
});
