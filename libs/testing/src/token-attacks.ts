import { createJwtVerifier, LocalIssuer, type JwtVerifier } from '@orgmesh/auth';
import { UnsecuredJWT } from 'jose';

/** One forged or broken `authorization` header, named for the test's failure message. */
export interface TokenAttack {
  readonly name: string;
  readonly authorization: string | undefined;
  /** The verifier's reason (the error message), so each attack is shown refused for its own flaw. */
  readonly reason: RegExp;
}

/** The attacks and the verifier a service under test should use (it trusts the side issuers' keys, see below). */
export interface TokenAttackKit {
  readonly attacks: readonly TokenAttack[];
  readonly verifier: JwtVerifier;
  /** What the attacks put on the wire: none of it may reach a log line. */
  readonly secrets: readonly string[];
}

/**
 * The gateway suite's token attacks, for a raw NATS request to a service (issue 18), all claiming
 * `claims` (typically an admin). The wrong-issuer and wrong-audience tokens are signed with keys the
 * verifier trusts, so they are refused for their `iss`/`aud` alone, not for an unknown key; the
 * stranger's token is signed by a key nobody trusts.
 */
export async function tokenAttacks(
  issuer: LocalIssuer,
  claims: { sub: string; role: string; scope: string },
): Promise<TokenAttackKit> {
  const stranger = await LocalIssuer.create({
    issuer: issuer.issuer,
    audience: issuer.audience,
    kid: 'stranger',
  });
  const otherIssuer = await LocalIssuer.create({
    issuer: 'urn:orgmesh:elsewhere',
    audience: issuer.audience,
    kid: 'other-iss',
  });
  const otherAudience = await LocalIssuer.create({
    issuer: issuer.issuer,
    audience: 'not-orgmesh',
    kid: 'other-aud',
  });
  const none = new UnsecuredJWT({ role: claims.role, scope: claims.scope, tenant: 'default' })
    .setSubject(claims.sub)
    .setIssuer(issuer.issuer)
    .setAudience(issuer.audience)
    .setExpirationTime('10m')
    .encode();
  const tokens = {
    stranger: await stranger.sign(claims),
    otherIssuer: await otherIssuer.sign(claims),
    otherAudience: await otherAudience.sign(claims),
    expired: await issuer.sign(claims, { expiresInSec: -120 }),
    none,
  };
  const attacks: TokenAttack[] = [
    { name: 'no authorization header', authorization: undefined, reason: /missing bearer token/ },
    { name: 'empty header', authorization: '', reason: /missing bearer token/ },
    { name: 'not a JWT', authorization: 'Bearer not-a-jwt', reason: /malformed token/ },
    {
      name: 'signed by an untrusted key',
      authorization: `Bearer ${tokens.stranger}`,
      reason: /unknown signing key/,
    },
    { name: 'another issuer', authorization: `Bearer ${tokens.otherIssuer}`, reason: /claim "iss"/ },
    { name: 'another audience', authorization: `Bearer ${tokens.otherAudience}`, reason: /claim "aud"/ },
    { name: 'expired', authorization: `Bearer ${tokens.expired}`, reason: /expired/ },
    { name: 'alg: none', authorization: `Bearer ${tokens.none}`, reason: /algorithm not allowed/ },
  ];
  const verifier = createJwtVerifier({
    issuer: issuer.issuer,
    audience: issuer.audience,
    jwks: { keys: [...issuer.jwks.keys, ...otherIssuer.jwks.keys, ...otherAudience.jwks.keys] },
  });
  return { attacks, verifier, secrets: Object.values(tokens) };
}
