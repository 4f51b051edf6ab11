import {
  CompactSign,
  compactVerify,
  createLocalJWKSet,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
} from 'jose';
import type { KeyObject } from 'node:crypto';
import { AppError, canonicalJson, PublishedProfile } from '@orgmesh/contracts';

/** `typ` of a signed profile: a token signed with the same key for another purpose is never accepted as a profile. */
export const PROFILE_JWS_TYPE = 'orgmesh-profile+jws';
const ALGORITHM = 'ES256';

/**
 * Signs a published profile version as a compact JWS (ES256, `kid` and `typ` in the protected header).
 * The payload is the profile's canonical JSON, so equal profiles sign equal payloads.
 */
export async function signProfile(
  published: PublishedProfile,
  privateKey: CryptoKey | KeyObject,
  kid: string,
): Promise<string> {
  const payload = new TextEncoder().encode(canonicalJson(PublishedProfile.parse(published)));
  return new CompactSign(payload)
    .setProtectedHeader({ alg: ALGORITHM, kid, typ: PROFILE_JWS_TYPE })
    .sign(privateKey);
}

/**
 * Verifies a signed profile against a key set and returns it. Refuses (AppError `unauthenticated`:
 * its authenticity cannot be established) a tampered payload or signature, an unknown `kid`, another
 * algorithm or `typ`, and a payload that is not a valid profile.
 */
export async function verifyProfile(
  jws: string,
  jwks: JSONWebKeySet,
): Promise<{ published: PublishedProfile; kid: string }> {
  let result: Awaited<ReturnType<typeof compactVerify>>;
  try {
    result = await compactVerify(jws, createLocalJWKSet(jwks), { algorithms: [ALGORITHM] });
  } catch (error) {
    throw new AppError('unauthenticated', `profile signature refused: ${reason(error)}`, { cause: error });
  }
  const { protectedHeader, payload } = result;
  if (protectedHeader.typ !== PROFILE_JWS_TYPE || !protectedHeader.kid) {
    throw new AppError(
      'unauthenticated',
      `profile signature refused: not a signed profile (typ ${String(protectedHeader.typ)})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(payload));
  } catch (error) {
    throw new AppError('unauthenticated', 'profile signature refused: payload is not JSON', { cause: error });
  }
  const parsed = PublishedProfile.safeParse(json);
  if (!parsed.success) {
    throw new AppError(
      'unauthenticated',
      `profile signature refused: payload is not a profile (${parsed.error.issues.map((i) => i.path.join('.')).join(', ')})`,
    );
  }
  return { published: parsed.data, kid: protectedHeader.kid };
}

/** A fresh ES256 profile signing key and its public JWK (for dev mode and tests; production keys come from a secret). */
export async function createProfileSigningKey(
  kid: string,
): Promise<{ privateKey: CryptoKey; publicJwk: JWK }> {
  const { publicKey, privateKey } = await generateKeyPair(ALGORITHM, { extractable: true });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: ALGORITHM, use: 'sig' } };
}

function reason(error: unknown): string {
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'unknown signing key (kid)';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return 'signature does not match the payload';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (error instanceof joseErrors.JWSInvalid) return 'malformed JWS';
  return 'verification failed';
}
