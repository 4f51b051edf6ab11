import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';

/** An ES256 signing key and the public half verifiers get from a JWKS. */
export interface Es256SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  /** Public JWK with `kid`, `alg: ES256`, `use: sig`: what the JWKS serves. */
  readonly publicJwk: JWK & { kid: string };
  /** `configured` (from the secret) or `generated` at startup (dev). */
  readonly origin: 'configured' | 'generated';
}

/**
 * The ES256 key of a secret (a private EC P-256 JWK as JSON, or a PEM: PKCS#8 or SEC1), or a fresh
 * one when none is configured. The `kid` is the JWK's own `kid`, else its RFC 7638 thumbprint, so
 * the same key has the same id in whatever form it is given and in every JWKS that serves it (the
 * registry's profile key, the gateway's card key). A secret that is no such key throws `problem`,
 * which names the setting; errors never echo the secret.
 */
export async function es256SigningKey(secret: string | undefined, problem: string): Promise<Es256SigningKey> {
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
        privateKey = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
      }
    } catch {
      throw new Error(problem);
    }
    if (
      privateKey.asymmetricKeyType !== 'ec' ||
      privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
    ) {
      throw new Error(problem);
    }
  }
  const exported = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  const base: JWK = { kty: exported.kty, crv: exported.crv, x: exported.x, y: exported.y };
  const kid = declaredKid ?? (await calculateJwkThumbprint(base, 'sha256'));
  return { kid, privateKey, publicJwk: { ...base, kid, alg: 'ES256', use: 'sig' }, origin };
}
