import { describe, expect, it } from '@jest/globals';
import { OidcTokenSource } from './oidc-token-source.js';

// The protocol is tested against a real provider (test/oidc-token-source.integration-spec.ts); this
// covers what a real provider cannot be made to do on cue: hang.
const ISSUER = 'https://id.test';
const jwt = (claims: Record<string, unknown>) =>
  `${Buffer.from('{"alg":"ES256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

function provider() {
  const state = { hang: false, tokenRequests: 0 };
  const fetchImpl = (async (url: string | URL | Request, init?: RequestInit) => {
    if (String(url).endsWith('/.well-known/openid-configuration'))
      return Response.json({ issuer: ISSUER, token_endpoint: `${ISSUER}/token` });
    state.tokenRequests++;
    if (state.hang) {
      // A black-holed provider: nothing until the request is aborted.
      return new Promise<Response>((_, reject) =>
        init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
      );
    }
    const exp = Math.floor(Date.now() / 1000) + 600;
    return Response.json({
      access_token: jwt({ sub: 'a', role: 'r', exp, n: state.tokenRequests }),
      expires_in: 600,
    });
  }) as typeof fetch;
  return { state, fetchImpl };
}

describe('OidcTokenSource', () => {
  it('a due renewal against a hanging provider does not stall callers while the token is valid', async () => {
    const { state, fetchImpl } = provider();
    const source = new OidcTokenSource({
      issuer: ISSUER,
      clientId: 'a',
      auth: { method: 'client_secret_basic', secret: 's' },
      renewAtFraction: 0, // renewal due at once
      requestTimeoutMs: 60_000,
      fetch: fetchImpl,
    });
    const first = await source.current();
    state.hang = true;
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 5 }, () => source.current()));
    expect(Date.now() - started).toBeLessThan(1_000);
    for (const token of results) expect(token).toBe(first);
    // One background renewal in flight, not one per caller.
    expect(state.tokenRequests).toBe(2);
    source.stop();
  });
});
