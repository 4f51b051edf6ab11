import { es256SigningKey, type Es256SigningKey } from '@orgmesh/auth';

/** The key that signs published profiles, and the public half consumers verify with. */
export type ProfileSigningKey = Es256SigningKey;

const KEY_PROBLEM =
  'REGISTRY_SIGNING_KEY: expected a private EC P-256 key as a JWK (JSON) or a PEM (PKCS#8 or SEC1)';

/**
 * The signing key from REGISTRY_SIGNING_KEY, or a fresh one when none is configured (libs/auth
 * es256SigningKey: the kid is the JWK's own or its thumbprint). Errors never echo the secret.
 */
export function profileSigningKey(secret: string | undefined): Promise<ProfileSigningKey> {
  return es256SigningKey(secret, KEY_PROBLEM);
}
