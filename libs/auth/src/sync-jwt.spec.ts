import { KeyObject, sign } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
  type JWK,
  type JWTPayload,
} from 'jose';
import { verifyJwtSync, type SyncJwtOptions } from './sync-jwt.js';

/**
 * The synchronous path must say what jose says: for every token of the corpus and of the random
 * mutations, both accept with the same claims or both refuse (with the same error class for the
 * corpus). And it must actually run: a valid token of each algorithm is verified here, not handed on.
 */
const ISSUER = 'urn:orgmesh:sync-test';
const AUDIENCE = 'orgmesh';
const OPTIONS: SyncJwtOptions = {
  issuer: ISSUER,
  audience: AUDIENCE,
  algorithms: ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'],
  clockToleranceSec: 5,
};
const ALGS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'] as const;

interface Signer {
  readonly alg: string;
  readonly kid: string;
  sign(claims: JWTPayload, header?: Record<string, unknown>): Promise<string>;
  /** Any header, signed without jose's checks (a `crit` jose would not sign). ES256 only. */
  raw(header: Record<string, unknown>, claims: JWTPayload): string;
}

async function keySet(): Promise<{ signers: Signer[]; jwks: { keys: JWK[] }; publicJwks: JWK[] }> {
  const signers: Signer[] = [];
  const keys: JWK[] = [];
  for (const alg of ALGS) {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const kid = `k-${alg}`;
    keys.push({ ...(await exportJWK(publicKey)), kid, alg });
    signers.push({
      alg,
      kid,
      sign: (claims, header = {}) =>
        new SignJWT(claims).setProtectedHeader({ alg, kid, ...header }).sign(privateKey),
      raw(header, claims) {
        const input = `${b64(header)}.${b64(claims)}`;
        const key = KeyObject.from(privateKey as Parameters<typeof KeyObject.from>[0]);
        const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
        return `${input}.${signature.toString('base64url')}`;
      },
    });
  }
  return { signers, jwks: { keys }, publicJwks: keys };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

type Verdict = { ok: true; claims: unknown } | { ok: false; error: string };

async function verdicts(token: string, keys: ReturnType<typeof createLocalJWKSet>) {
  const jose = await jwtVerify(token, keys, {
    issuer: OPTIONS.issuer,
    audience: OPTIONS.audience,
    algorithms: [...OPTIONS.algorithms],
    clockTolerance: OPTIONS.clockToleranceSec,
    requiredClaims: ['exp'],
  }).then(
    (r): Verdict => ({ ok: true, claims: r.payload }),
    (e: Error): Verdict => ({ ok: false, error: e.constructor.name }),
  );
  let handedOn = false;
  const sync = await verifyJwtSync(token, keys, OPTIONS).then(
    async (claims): Promise<Verdict> => {
      if (claims) return { ok: true, claims };
      handedOn = true;
      return jose;
    },
    (e: Error): Verdict => ({ ok: false, error: e.constructor.name }),
  );
  return { jose, sync, handedOn };
}

const now = () => Math.floor(Date.now() / 1000);
const base = (): JWTPayload => ({ sub: 'a', role: 'finance', iss: ISSUER, aud: AUDIENCE, exp: now() + 600 });

describe('verifyJwtSync', () => {
  it('verifies a valid token of every algorithm on this thread, with the claims jose gives', async () => {
    const { signers, jwks } = await keySet();
    const keys = createLocalJWKSet(jwks);
    for (const signer of signers) {
      const token = await signer.sign({ ...base(), aud: ['other', AUDIENCE], nbf: now() - 1, iat: now() });
      const { jose, sync, handedOn } = await verdicts(token, keys);
      expect(handedOn).toBe(false);
      expect(jose.ok).toBe(true);
      expect(sync).toEqual(jose);
    }
  });

  it('refuses the attack corpus exactly as jose does', async () => {
    const { signers, jwks } = await keySet();
    const keys = createLocalJWKSet(jwks);
    const es = signers[0]!;
    const rs = signers[2]!;
    const valid = await es.sign(base());
    const [h, p, s] = valid.split('.') as [string, string, string];
    const enc = b64;
    const hs256 = await new SignJWT(base())
      .setProtectedHeader({ alg: 'HS256', kid: es.kid })
      .sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));
    const corpus: Array<[string, string]> = [
      ['expired', await es.sign({ ...base(), exp: now() - 60 })],
      ['not yet valid', await es.sign({ ...base(), nbf: now() + 600 })],
      ['wrong issuer', await es.sign({ ...base(), iss: 'urn:elsewhere' })],
      ['wrong audience', await es.sign({ ...base(), aud: 'someone-else' })],
      ['audience list without ours', await es.sign({ ...base(), aud: ['a', 'b'] })],
      ['no exp', await es.sign({ sub: 'a', iss: ISSUER, aud: AUDIENCE })],
      ['no iss', await es.sign({ sub: 'a', aud: AUDIENCE, exp: now() + 60 })],
      ['exp as a string', await es.sign({ ...base(), exp: String(now() + 60) } as unknown as JWTPayload)],
      ['iat as a string', await es.sign({ ...base(), iat: 'now' } as unknown as JWTPayload)],
      ['alg none', new UnsecuredJWT(base()).encode()],
      ['HS256 keyed with the public key', hs256],
      ['a tampered payload', `${h}.${enc({ ...base(), role: 'admin' })}.${s}`],
      ['a tampered signature', `${h}.${p}.${s.slice(0, -4)}AAAA`],
      ['a signature of another key', `${h}.${p}.${(await rs.sign(base())).split('.')[2]}`],
      ['two parts', `${h}.${p}`],
      ['four parts', `${valid}.x`],
      ['a header that is not JSON', `${Buffer.from('{"alg"').toString('base64url')}.${p}.${s}`],
      ['a payload that is an array', `${h}.${enc([1])}.${s}`],
      ['a payload that is not base64url', `${h}.${p}!.${s}`],
      ['an unknown kid', await es.sign(base(), { kid: 'nobody' })],
      ['ES256 with the RSA key kid', await es.sign(base(), { kid: rs.kid })],
      ['a crit header', es.raw({ alg: 'ES256', kid: es.kid, crit: ['exp'], exp: 1 }, base())],
      ['b64 false', es.raw({ alg: 'ES256', kid: es.kid, crit: ['b64'], b64: false }, base())],
      ['the alg missing', `${enc({ kid: es.kid })}.${p}.${s}`],
    ];
    for (const [name, token] of corpus) {
      const { jose, sync } = await verdicts(token, keys);
      expect({ name, ok: sync.ok }).toEqual({ name, ok: false });
      expect({ name, verdict: sync }).toEqual({ name, verdict: jose });
    }
    // Stricter than jose, which ignores a signature's stray low bits: another spelling of the same
    // signature is refused here whatever jose says of it.
    const last = s.at(-1)!;
    const sibling = 'AQgw'.includes(last) ? String.fromCharCode(last.charCodeAt(0) + 1) : 'A';
    await expect(verifyJwtSync(`${h}.${p}.${s.slice(0, -1)}${sibling}`, keys, OPTIONS)).rejects.toMatchObject(
      {
        code: 'ERR_JWS_INVALID',
      },
    );
    // An algorithm the verifier was not told to allow, even with a key that fits it.
    await expect(verifyJwtSync(valid, keys, { ...OPTIONS, algorithms: ['RS256'] })).rejects.toMatchObject({
      code: 'ERR_JOSE_ALG_NOT_ALLOWED',
    });
  });

  it('never accepts a random mutation of a valid token that jose refuses', async () => {
    const { signers, jwks } = await keySet();
    const keys = createLocalJWKSet(jwks);
    const tokens = await Promise.all(signers.map((signer) => signer.sign(base())));
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ';
    await fc.assert(
      fc.asyncProperty(
        fc.nat(tokens.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.nat(chars.length - 1)), { minLength: 1, maxLength: 3 }),
        async (which, edits) => {
          const token = tokens[which]!.split('');
          for (const [at, char] of edits) token[at % token.length] = chars[char]!;
          const { jose, sync } = await verdicts(token.join(''), keys);
          // Nothing jose refuses is accepted here, and what both accept has the same claims.
          if (!jose.ok) expect(sync.ok).toBe(false);
          if (sync.ok && jose.ok) expect(sync.claims).toEqual(jose.claims);
          // The one way to differ: jose ignores the stray bits of a non-canonical base64url member,
          // which this path refuses (two spellings of one signature must not both verify).
          if (jose.ok && !sync.ok) {
            const members = token.join('').split('.');
            expect(members.some((m) => Buffer.from(m, 'base64url').toString('base64url') !== m)).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
