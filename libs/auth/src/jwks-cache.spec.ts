import { describe, expect, it } from '@jest/globals';
import { createJwtVerifier } from './jwt-verifier.js';
import { LocalIssuer } from './test-issuer.js';

/** A JWKS endpoint whose answers the test controls, and a clock it moves. */
function endpoint(issuer: LocalIssuer) {
  const state = { up: true, fetches: 0, keys: issuer.jwks, now: 1_000_000 };
  const fetchImpl = (async () => {
    if (!state.up) throw new TypeError('fetch failed');
    state.fetches++;
    return new Response(JSON.stringify(state.keys), { headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { state, fetchImpl };
}

describe('remote JWKS cache', () => {
  it('keeps verifying with the last keys while the issuer is down, past the refresh age, until max-stale', async () => {
    const issuer = await LocalIssuer.create();
    const { state, fetchImpl } = endpoint(issuer);
    const verifier = createJwtVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwksUrl: 'https://issuer.test/jwks',
      cacheSize: 0,
      jwksCache: { refreshAfterMs: 60_000, maxStaleMs: 3_600_000, fetch: fetchImpl, now: () => state.now },
    });
    const token = await issuer.sign({ sub: 'finance-agent', role: 'finance' });
    await verifier.verify(token);
    expect(state.fetches).toBe(1);
    state.up = false;
    state.now += 30 * 60_000; // well past the refresh age: a background refetch fails
    expect(await verifier.verify(token)).toMatchObject({ subject: 'finance-agent' });
    expect(await verifier.verify(token)).toMatchObject({ subject: 'finance-agent' });
    state.now += 31 * 60_000; // past max-stale: the keys are no longer trusted
    await expect(verifier.verify(token)).rejects.toMatchObject({
      code: 'unauthenticated',
      message: expect.stringMatching(/issuer keys unreachable/),
    });
    state.up = true;
    expect(await verifier.verify(token)).toMatchObject({ subject: 'finance-agent' });
  });

  it('an issuer that answers an error or garbage before any keys were held: issuer keys unreachable', async () => {
    const issuer = await LocalIssuer.create();
    const token = await issuer.sign({ sub: 'a', role: 'finance' });
    for (const answer of [new Response('oops', { status: 503 }), new Response('<html>', { status: 200 })]) {
      const verifier = createJwtVerifier({
        issuer: issuer.issuer,
        audience: issuer.audience,
        jwksUrl: 'https://issuer.test/jwks',
        jwksCache: { fetch: (async () => answer) as typeof fetch },
      });
      await expect(verifier.verify(token)).rejects.toMatchObject({
        code: 'unauthenticated',
        message: 'invalid token: issuer keys unreachable',
      });
    }
  });

  it('refreshes stale keys in the background while serving the ones it has', async () => {
    const issuer = await LocalIssuer.create();
    const { state, fetchImpl } = endpoint(issuer);
    const verifier = createJwtVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwksUrl: 'https://issuer.test/jwks',
      cacheSize: 0,
      jwksCache: { refreshAfterMs: 60_000, fetch: fetchImpl, now: () => state.now },
    });
    const token = await issuer.sign({ sub: 'a', role: 'finance' });
    await verifier.verify(token);
    await verifier.verify(token);
    expect(state.fetches).toBe(1);
    state.now += 61_000;
    await verifier.verify(token);
    await Promise.resolve();
    expect(state.fetches).toBe(2);
  });

  it('an unknown kid refetches at most once per cooldown (forged kids cannot flood the issuer)', async () => {
    const issuer = await LocalIssuer.create({ kid: 'real' });
    const forger = await LocalIssuer.create({ kid: 'forged' });
    const { state, fetchImpl } = endpoint(issuer);
    const verifier = createJwtVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwksUrl: 'https://issuer.test/jwks',
      jwksCache: { cooldownMs: 5_000, fetch: fetchImpl, now: () => state.now },
    });
    await verifier.verify(await issuer.sign({ sub: 'a', role: 'finance' }));
    for (let i = 0; i < 10; i++) {
      await expect(verifier.verify(await forger.sign({ sub: 'a', role: 'admin' }))).rejects.toMatchObject({
        code: 'unauthenticated',
      });
    }
    expect(state.fetches).toBe(2);
    state.now += 5_001;
    await expect(verifier.verify(await forger.sign({ sub: 'a', role: 'admin' }))).rejects.toThrow();
    expect(state.fetches).toBe(3);
  });
});
