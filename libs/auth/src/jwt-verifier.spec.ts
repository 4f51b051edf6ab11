import { describe, expect, it } from '@jest/globals';
import { SignJWT, UnsecuredJWT } from 'jose';
import { createJwtVerifier } from './jwt-verifier.js';
import { LocalIssuer } from './test-issuer.js';

describe('createJwtVerifier', () => {
  it('accepts a valid token and exposes subject, role, tenant and scopes', async () => {
    const issuer = await LocalIssuer.create();
    const verifier = createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks });
    const token = await issuer.sign({ sub: 'finance-agent', role: 'finance', tenant: 'acme', scope: 'orgmesh:agent orgmesh:read' });
    const principal = await verifier.verify(`Bearer ${token}`);
    expect(principal).toMatchObject({ subject: 'finance-agent', role: 'finance', tenant: 'acme', scopes: ['orgmesh:agent', 'orgmesh:read'] });
  });

  it.each([
    ['no token', async () => undefined, /missing bearer token/],
    ['an expired token', async (i: LocalIssuer) => i.sign({ sub: 'a', role: 'finance' }, { expiresInSec: -60 }), /expired/],
    ['alg none', async () => new UnsecuredJWT({ role: 'admin' }).setSubject('a').setIssuer('urn:orgmesh:test').setAudience('orgmesh').setExpirationTime('1h').encode(), /algorithm|malformed|unsupported/],
    ['a tampered signature', async (i: LocalIssuer) => {
      const t = await i.sign({ sub: 'a', role: 'finance' });
      const [h, p, s] = t.split('.');
      return `${h}.${p}.${s!.slice(0, -4)}AAAA`;
    }, /signature/],
    ['a tampered payload', async (i: LocalIssuer) => {
      const t = await i.sign({ sub: 'a', role: 'finance' });
      const [h, , s] = t.split('.');
      const forged = Buffer.from(JSON.stringify({ sub: 'a', role: 'admin', iss: 'urn:orgmesh:test', aud: 'orgmesh', exp: 9999999999 })).toString('base64url');
      return `${h}.${forged}.${s}`;
    }, /signature/],
  ] as const)('refuses %s', async (_name, make, message) => {
    const issuer = await LocalIssuer.create();
    const verifier = createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks });
    await expect(verifier.verify(await make(issuer))).rejects.toMatchObject({ code: 'unauthenticated', message: expect.stringMatching(message) });
  });

  it('refuses the wrong issuer, the wrong audience and an unknown kid', async () => {
    const issuer = await LocalIssuer.create();
    const other = await LocalIssuer.create({ issuer: 'urn:elsewhere', audience: 'someone-else', kid: 'other' });
    const verifier = createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks });
    const wrongIssuer = await LocalIssuer.create({ issuer: 'urn:elsewhere', kid: issuer.kid });
    await expect(verifier.verify(await other.sign({ sub: 'a', role: 'finance' }))).rejects.toMatchObject({
      message: expect.stringMatching(/unknown signing key/),
    });
    const v2 = createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwks: wrongIssuer.jwks });
    await expect(v2.verify(await wrongIssuer.sign({ sub: 'a', role: 'finance' }))).rejects.toMatchObject({
      message: expect.stringMatching(/claim "iss"/),
    });
    const wrongAudience = await LocalIssuer.create({ audience: 'someone-else', kid: 'x' });
    const v3 = createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwks: wrongAudience.jwks });
    await expect(v3.verify(await wrongAudience.sign({ sub: 'a', role: 'finance' }))).rejects.toMatchObject({
      message: expect.stringMatching(/claim "aud"/),
    });
  });

  it('refuses an HS256 token signed with the public key as the HMAC secret', async () => {
    const issuer = await LocalIssuer.create();
    const verifier = createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks });
    const secret = new TextEncoder().encode(JSON.stringify(issuer.jwks.keys[0]));
    const forged = await new SignJWT({ role: 'admin', scope: 'orgmesh:admin' })
      .setProtectedHeader({ alg: 'HS256', kid: issuer.kid })
      .setSubject('attacker')
      .setIssuer(issuer.issuer)
      .setAudience(issuer.audience)
      .setExpirationTime('1h')
      .sign(secret);
    await expect(verifier.verify(forged)).rejects.toMatchObject({ code: 'unauthenticated' });
  });
});
