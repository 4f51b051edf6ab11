import { exportJWK, generateKeyPair, SignJWT, type JSONWebKeySet, type CryptoKey } from 'jose';

/**
 * An ES256 key pair and a signer, for tests and for the gateway's built-in dev issuer to build on.
 * Not a secret store: keys live in memory only.
 */
export class LocalIssuer {
  private constructor(
    readonly issuer: string,
    readonly audience: string,
    readonly kid: string,
    private readonly privateKey: CryptoKey,
    readonly jwks: JSONWebKeySet,
  ) {}

  static async create(options: { issuer?: string; audience?: string; kid?: string } = {}): Promise<LocalIssuer> {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = options.kid ?? `k${Date.now().toString(36)}`;
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    return new LocalIssuer(options.issuer ?? 'urn:orgmesh:test', options.audience ?? 'orgmesh', kid, privateKey, { keys: [jwk] });
  }

  async sign(claims: { sub: string; role: string; tenant?: string; scope?: string }, options: { expiresInSec?: number } = {}): Promise<string> {
    return new SignJWT({ role: claims.role, tenant: claims.tenant ?? 'default', scope: claims.scope ?? 'orgmesh:agent' })
      .setProtectedHeader({ alg: 'ES256', kid: this.kid, typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresInSec ?? 3600))
      .sign(this.privateKey);
  }
}
