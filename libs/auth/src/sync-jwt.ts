import { constants, KeyObject, verify as verifySignature } from 'node:crypto';
import { errors, type JWTVerifyGetKey } from 'jose';

/**
 * JWT verification with the signature checked synchronously by node:crypto (ADR 0011, "the cost of
 * verification"). jose 6 verifies through WebCrypto, whose every call is a job on libuv's thread
 * pool: a token's first verification waited for a thread and a wake-up, which cost an RPC more than
 * the signature itself. Here the key is still resolved by jose (the JWKS cache, kid and key-type
 * matching, rotation), the signature is checked on the calling thread, and the claims are checked
 * exactly as jose's `jwtVerify` checks them (`validateClaimsSet`, jose 6.2) — the same errors, so
 * callers map the same reasons. Anything this path does not cover returns `undefined` and the
 * caller verifies with jose: a `crit` or `b64` header, an algorithm outside the table, a key that is
 * not an asymmetric CryptoKey. The spec runs both on the same attack corpus and expects the same
 * verdicts (`sync-jwt.spec.ts`).
 */

type SignatureCheck = (data: Buffer, key: KeyObject, signature: Buffer) => boolean;

const pss = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };

/** The algorithms checked here, each with the key type and curve its key must have. */
const ALGORITHMS: Record<string, { check: SignatureCheck; keyType: readonly string[]; curve?: string }> = {
  ES256: {
    check: (d, key, s) => verifySignature('sha256', d, { key, dsaEncoding: 'ieee-p1363' }, s),
    keyType: ['ec'],
    curve: 'prime256v1',
  },
  ES384: {
    check: (d, key, s) => verifySignature('sha384', d, { key, dsaEncoding: 'ieee-p1363' }, s),
    keyType: ['ec'],
    curve: 'secp384r1',
  },
  RS256: { check: (d, key, s) => verifySignature('sha256', d, key, s), keyType: ['rsa'] },
  PS256: {
    check: (d, key, s) => verifySignature('sha256', d, { key, ...pss }, s),
    keyType: ['rsa', 'rsa-pss'],
  },
  EdDSA: { check: (d, key, s) => verifySignature(null, d, key, s), keyType: ['ed25519', 'ed448'] },
};

const BASE64URL = /^[A-Za-z0-9_-]*$/;
// eslint-disable-next-line no-control-regex -- the whole ASCII range, as jose's check of a signing input
const ASCII = /^[\x00-\x7f]*$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const keyObjects = new WeakMap<object, KeyObject>();

export interface SyncJwtOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly algorithms: readonly string[];
  readonly clockToleranceSec: number;
}

/**
 * The verified claims of `token`, or `undefined` when this path does not cover it (verify with
 * jose then). Throws jose's errors for every refusal.
 */
export async function verifyJwtSync(
  token: string,
  keys: JWTVerifyGetKey,
  options: SyncJwtOptions,
): Promise<Record<string, unknown> | undefined> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new errors.JWSInvalid('Invalid Compact JWS');
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const header = jsonObject(encodedHeader, () => new errors.JWSInvalid('JWS Protected Header is invalid'));
  if ('crit' in header || 'b64' in header) return undefined;
  const alg = header['alg'];
  if (typeof alg !== 'string' || !alg)
    throw new errors.JWSInvalid('JWS "alg" (Algorithm) Header Parameter missing or invalid');
  if (!options.algorithms.includes(alg))
    throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
  const algorithm = ALGORITHMS[alg];
  if (!algorithm) return undefined;
  // In jose's order: the key, then the signing input (ASCII) and the signature's bytes, the signature
  // checked, and only then the payload decoded.
  const resolved: unknown = await keys(header as Parameters<JWTVerifyGetKey>[0], {
    protected: encodedHeader,
    payload: encodedPayload,
    signature: encodedSignature,
  });
  if (!ASCII.test(encodedPayload)) throw new errors.JWSInvalid('JWS Payload must use only ASCII characters');
  const signature = canonicalBase64url(encodedSignature);
  if (!signature) throw new errors.JWSInvalid('Failed to base64url decode the signature');
  const key = keyObjectOf(resolved);
  if (!key) return undefined;
  checkKey(alg, algorithm, key);
  const signed = Buffer.from(`${encodedHeader}.${encodedPayload}`, 'ascii');
  let verified = false;
  try {
    verified = algorithm.check(signed, key, signature);
  } catch (cause) {
    throw new errors.JWSSignatureVerificationFailed(undefined, { cause });
  }
  if (!verified) throw new errors.JWSSignatureVerificationFailed();
  if (!canonicalBase64url(encodedPayload))
    throw new errors.JWSInvalid('Failed to base64url decode the payload');
  const claims = jsonObject(
    encodedPayload,
    () => new errors.JWTInvalid('JWT Claims Set must be a top-level JSON object'),
  );
  validateClaims(claims, options);
  return claims;
}

/**
 * The bytes of a base64url member, only in its one canonical spelling: Buffer's decoder skips what
 * it does not know and ignores stray bits, so two spellings of one signature would both verify.
 */
function canonicalBase64url(encoded: string): Buffer | undefined {
  if (!BASE64URL.test(encoded)) return undefined;
  const bytes = Buffer.from(encoded, 'base64url');
  return bytes.toString('base64url') === encoded ? bytes : undefined;
}

function jsonObject(encoded: string, invalid: () => Error): Record<string, unknown> {
  const bytes = canonicalBase64url(encoded);
  if (!bytes) throw invalid();
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    throw invalid();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid();
  return value as Record<string, unknown>;
}

function keyObjectOf(resolved: unknown): KeyObject | undefined {
  if (!(resolved instanceof CryptoKey) || resolved.type !== 'public') return undefined;
  let key = keyObjects.get(resolved);
  if (!key) {
    key = KeyObject.from(resolved as Parameters<typeof KeyObject.from>[0]);
    keyObjects.set(resolved, key);
  }
  return key;
}

/** jose's checks of a key against the algorithm (key type, curve, RSA modulus of 2048 bits or more). */
function checkKey(alg: string, algorithm: (typeof ALGORITHMS)[string], key: KeyObject): void {
  const type = key.asymmetricKeyType ?? '';
  const details = key.asymmetricKeyDetails ?? {};
  if (!algorithm.keyType.includes(type) || (algorithm.curve && details.namedCurve !== algorithm.curve))
    throw new TypeError(`the key does not fit ${alg}`);
  if (type.startsWith('rsa') && (details.modulusLength ?? 0) < 2048)
    throw new TypeError(`${alg} requires key modulusLength to be 2048 bits or larger`);
}

/** jose 6.2's validateClaimsSet for the options orgmesh passes: required exp, iss, aud; nbf; tolerance. */
function validateClaims(claims: Record<string, unknown>, options: SyncJwtOptions): void {
  for (const claim of ['iss', 'aud', 'exp']) {
    if (!Object.hasOwn(claims, claim))
      throw new errors.JWTClaimValidationFailed(
        `missing required "${claim}" claim`,
        claims,
        claim,
        'missing',
      );
  }
  if (claims['iss'] !== options.issuer) unexpected(claims, 'iss');
  const aud = claims['aud'];
  const audienceFits =
    typeof aud === 'string' ? aud === options.audience : Array.isArray(aud) && aud.includes(options.audience);
  if (!audienceFits) unexpected(claims, 'aud');
  const now = Math.floor(Date.now() / 1000);
  const tolerance = options.clockToleranceSec;
  numericDate(claims, 'iat');
  const nbf = numericDate(claims, 'nbf');
  if (nbf !== undefined && nbf > now + tolerance)
    throw new errors.JWTClaimValidationFailed(
      '"nbf" claim timestamp check failed',
      claims,
      'nbf',
      'check_failed',
    );
  const exp = numericDate(claims, 'exp');
  if (exp !== undefined && exp <= now - tolerance)
    throw new errors.JWTExpired('"exp" claim timestamp check failed', claims, 'exp', 'check_failed');
}

function numericDate(claims: Record<string, unknown>, claim: string): number | undefined {
  const value = claims[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'number')
    throw new errors.JWTClaimValidationFailed(`"${claim}" claim must be a number`, claims, claim, 'invalid');
  return value;
}

function unexpected(claims: Record<string, unknown>, claim: string): never {
  throw new errors.JWTClaimValidationFailed(
    `unexpected "${claim}" claim value`,
    claims,
    claim,
    'check_failed',
  );
}
