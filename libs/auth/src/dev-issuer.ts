import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';

/** One signing key of the built-in issuer. */
interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  createdAtMs: number;
  /** When the key stopped signing (undefined while it is the current key). */
  retiredAtMs?: number;
}

export interface DevIssuerOptions {
  /** The `iss` claim and the base of the discovery document, e.g. `http://127.0.0.1:8080`. */
  issuer: string;
  /** The `aud` claim of every token. */
  audience: string;
  /** Lifetime of an access token; default 3600 s. */
  tokenTtlSec?: number;
  /** Extra time a retired key stays published after the last token it signed expired; default 60 s (clock skew). */
  retireGraceSec?: number;
  /** Milliseconds since the epoch; injectable for tests of rotation. */
  now?: () => number;
}

/** Claims the built-in issuer puts into an access token. */
export interface IssuedClaims {
  sub: string;
  role: string;
  tenant?: string;
  scopes: readonly string[];
  /** The OAuth2 client that asked for the token (the `client_id` claim). */
  clientId?: string;
}

/** The OAuth2 token response (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

/**
 * The gateway's built-in token issuer (`AUTH_MODE=dev`): ES256 keys with a `kid`, rotated with
 * overlap. A rotated key stops signing at once but stays in the JWKS until every token it signed
 * has expired (plus a grace for clock skew), so no valid token is ever orphaned by a rotation.
 * Keys live in memory only: a restart invalidates outstanding tokens, which is acceptable for a
 * development issuer and the reason production mode uses an external OIDC issuer instead.
 */
export class DevIssuer {
  private readonly keys: SigningKey[] = [];
  private readonly tokenTtlSec: number;
  private readonly retireGraceMs: number;
  private readonly now: () => number;
  private version = 0;

  private constructor(
    readonly issuer: string,
    readonly audience: string,
    options: DevIssuerOptions,
  ) {
    this.tokenTtlSec = options.tokenTtlSec ?? 3600;
    this.retireGraceMs = (options.retireGraceSec ?? 60) * 1000;
    this.now = options.now ?? Date.now;
  }

  static async create(options: DevIssuerOptions): Promise<DevIssuer> {
    const issuer = new DevIssuer(options.issuer.replace(/\/+$/, ''), options.audience, options);
    await issuer.rotate();
    return issuer;
  }

  /** Seconds an issued token is valid. */
  get tokenLifetimeSec(): number {
    return this.tokenTtlSec;
  }

  /** The kid of the key that signs new tokens. */
  get currentKid(): string {
    const current = this.keys[this.keys.length - 1];
    if (!current) throw new Error('dev issuer has no signing key');
    return current.kid;
  }

  /**
   * Makes a fresh key the signing key. The previous one keeps verifying until the tokens it signed
   * expire. Returns the new kid.
   */
  async rotate(): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const createdAtMs = this.now();
    const kid = `dev-${createdAtMs.toString(36)}-${randomUUID().slice(0, 8)}`;
    const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    const previous = this.keys[this.keys.length - 1];
    if (previous) previous.retiredAtMs = createdAtMs;
    this.keys.push({ kid, privateKey, publicJwk, createdAtMs });
    this.version++;
    return kid;
  }

  /**
   * A number that changes whenever the published key set changes (a rotation, or a retired key
   * leaving after its overlap), so verifiers know when to reload the JWKS.
   */
  keySetVersion(): number {
    this.prune();
    return this.version;
  }

  /** The public keys: the signing key plus retired keys whose tokens may still be valid. */
  jwks(): JSONWebKeySet {
    this.prune();
    return { keys: this.keys.map((k) => ({ ...k.publicJwk })) };
  }

  /** The OpenID Provider metadata (discovery) for this issuer, served at `/.well-known/openid-configuration`. */
  openidConfiguration(): Record<string, unknown> {
    return {
      issuer: this.issuer,
      jwks_uri: `${this.issuer}/.well-known/jwks.json`,
      token_endpoint: `${this.issuer}/v1/auth/token`,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      response_types_supported: ['token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
      scopes_supported: ['orgmesh:admin', 'orgmesh:agent', 'orgmesh:read'],
      claims_supported: ['sub', 'role', 'tenant', 'scope', 'client_id', 'iss', 'aud', 'exp', 'iat', 'jti'],
    };
  }

  /** Signs an access token with the current key. */
  async issue(claims: IssuedClaims, options: { ttlSec?: number } = {}): Promise<TokenResponse> {
    const current = this.keys[this.keys.length - 1];
    if (!current) throw new Error('dev issuer has no signing key');
    const ttl = Math.min(options.ttlSec ?? this.tokenTtlSec, this.tokenTtlSec);
    const nowSec = Math.floor(this.now() / 1000);
    const scope = claims.scopes.join(' ');
    const payload: Record<string, unknown> = { role: claims.role, tenant: claims.tenant ?? 'default', scope };
    if (claims.clientId) payload['client_id'] = claims.clientId;
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', kid: current.kid, typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setIssuedAt(nowSec)
      .setExpirationTime(nowSec + ttl)
      .setJti(randomUUID())
      .sign(current.privateKey);
    return { access_token: token, token_type: 'Bearer', expires_in: ttl, scope };
  }

  private prune(): void {
    const now = this.now();
    const overlapMs = this.tokenTtlSec * 1000 + this.retireGraceMs;
    const before = this.keys.length;
    for (let i = this.keys.length - 2; i >= 0; i--) {
      const key = this.keys[i];
      if (key?.retiredAtMs !== undefined && key.retiredAtMs + overlapMs <= now) this.keys.splice(i, 1);
    }
    if (this.keys.length !== before) this.version++;
  }
}
