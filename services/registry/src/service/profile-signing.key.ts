import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';

/** The key that signs published profiles, and the public half consumers verify with. */
export interface ProfileSigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  /** Public JWK with `kid`, `alg: ES256`, `use: sig`: what the JWKS serves. */
  readonly publicJwk: JWK & { kid: string };
  /** `configured` (REGISTRY_SIGNING_KEY) or `generated` at startup (dev). */
  readonly origin: 'configured' | 'generated';
}

const KEY_PROBLEM =
  'REGISTRY_SIGNING_KEY: expected a private EC P-256 key as a JWK (JSON) or a PEM (PKCS#8 or SEC1)';

/**
 * The signing key from its secret (a private EC P-256 JWK as JSON, or a PEM), or a fresh one when
 * none is configured. The `kid` is the JWK's own `kid`, else its RFC 7638 thumbprint, so the same
 * key always has the same id. Errors never echo the secret.
 */
export async function profileSigningKey(secret: string | undefined): Promise<ProfileSigningKey> {
  let privateKey: KeyObject;
  let declaredKid: string | undefined;
  const origin = secret ? 'configured' : 'generated';
  if (!secret) {
    privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  } else {
    const text = secret.trim();
    try {
      if (text.startsWith('-----BEGIN')) {
        privateKey = createPrivateKey(text);
      } else {
        const jwk = JSON.parse(text) as JWK;
        declaredKid = typeof jwk.kid === 'string' && jwk.kid ? jwk.kid : undefined;
        privateKey = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
      }
    } catch {
      throw new Error(KEY_PROBLEM);
    }
    if (
      privateKey.asymmetricKeyType !== 'ec' ||
      privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
    ) {
      throw new Error(KEY_PROBLEM);
    }
  }
  const exported = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  const base: JWK = { kty: exported.kty, crv: exported.crv, x: exported.x, y: exported.y };
  const kid = declaredKid ?? (await calculateJwkThumbprint(base, 'sha256'));
  return { kid, privateKey, publicJwk: { ...base, kid, alg: 'ES256', use: 'sig' }, origin };
}
