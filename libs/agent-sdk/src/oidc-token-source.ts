import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { AppError } from '@orgmesh/contracts';
import type { Logger } from '@orgmesh/telemetry';
import { RenewingTokenSource } from './renewing-token-source.js';
import { parseAccessToken, type AccessToken } from './token-source.js';

/** How the client proves who it is at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2). */
export type OidcClientAuth =
  | { readonly method: 'client_secret_basic' | 'client_secret_post'; readonly secret: string }
  | {
      readonly method: 'private_key_jwt';
      /** A private JWK (with `alg`, or RS256/ES256/EdDSA inferred from `kty`/`crv`); `kid` is sent when present. */
      readonly privateJwk: JWK;
    };

/** Which claims of the access token name the agent and its role (providers differ: Keycloak's `sub` is a UUID). */
export interface TokenClaimNames {
  /** Default `sub`; e.g. `azp` or `client_id` when the provider puts an opaque id in `sub`. */
  readonly subject?: string;
  /** Default `role`; a dotted path (`orgmesh.role`) reaches into an object claim. */
  readonly role?: string;
}

export interface OidcTokenSourceOptions {
  /** The issuer identifier; the token endpoint comes from `<issuer>/.well-known/openid-configuration`. */
  readonly issuer: string;
  readonly clientId: string;
  readonly auth: OidcClientAuth;
  /** Space-separated scopes to ask for (default: what the client is granted). */
  readonly scope?: string;
  /** RFC 8707 `resource` (oidc-provider, Entra); the API the token is for. */
  readonly resource?: string;
  /** The non-standard `audience` parameter (Auth0, Okta); Keycloak sets the audience with a mapper instead. */
  readonly audience?: string;
  readonly claims?: TokenClaimNames;
  /** Renew once this fraction of a token's lifetime has passed; default 0.8. */
  readonly renewAtFraction?: number;
  /** Timeout of one discovery or token request; default 5 s. */
  readonly requestTimeoutMs?: number;
  /** Longest pause between retries after a failed renewal; default 30 s. */
  readonly maxBackoffMs?: number;
  readonly logger?: Logger;
  readonly fetch?: typeof fetch;
}

/** Seconds a client assertion is valid: long enough for one request, short enough to be useless if captured. */
const ASSERTION_TTL_SEC = 60;
/** A token this close to its `exp` is not handed out: the call it is for would arrive expired. */
const EXPIRY_SKEW_MS = 1_000;

/**
 * OAuth2 client credentials against any OpenID provider (discovery, client_secret_basic/post or
 * private_key_jwt). The token is cached and renewed in the background at 80 % of its lifetime;
 * concurrent callers share one request; a failed renewal is retried with exponential backoff, and
 * the cached token keeps being served while it is still valid, so a provider outage shorter than
 * the remaining lifetime is invisible to the agent. Past expiry the caller gets `unavailable`.
 */
export class OidcTokenSource extends RenewingTokenSource {
  private renewAt = 0;
  private tokenEndpoint: Promise<string> | undefined;
  private signingKey: Promise<{ key: CryptoKey | Uint8Array; alg: string; kid?: string }> | undefined;
  private retryPending = false;
  private readonly fetchImpl: typeof fetch;
  private readonly issuer: string;

  constructor(private readonly options: OidcTokenSourceOptions) {
    super();
    this.fetchImpl = options.fetch ?? fetch;
    this.issuer = options.issuer.replace(/\/+$/, '');
  }

  async current(): Promise<AccessToken> {
    const cached = this.cached;
    const now = Date.now();
    if (cached && now < this.renewAt) return cached;
    if (cached && cached.expiresAt - EXPIRY_SKEW_MS > now) {
      // Renewal is due but the token we hold is still good: renew in the background and serve it, so
      // a provider that hangs or is down never stalls a caller while a valid token exists.
      if (!this.pending && !this.retryPending) void this.backgroundRefresh();
      return cached;
    }
    return this.refresh();
  }

  protected async request(): Promise<AccessToken> {
    let token: AccessToken;
    try {
      token = await this.requestOnce();
    } catch (error) {
      // Wrong credentials do not fix themselves; an unreachable or failing provider may.
      if (!(error instanceof AppError && error.code === 'unauthenticated')) this.scheduleRetry();
      throw error;
    }
    this.failures = 0;
    const lifetime = Math.max(0, token.expiresAt - Date.now());
    this.renewAt = Date.now() + lifetime * (this.options.renewAtFraction ?? 0.8);
    this.cached = token;
    this.scheduleRenewal(this.renewAt);
    this.options.logger?.debug(
      { clientId: this.options.clientId, expiresAt: new Date(token.expiresAt).toISOString() },
      'access token obtained',
    );
    return token;
  }

  private async requestOnce(): Promise<AccessToken> {
    const endpoint = await this.endpoint();
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    const auth = this.options.auth;
    if (auth.method === 'client_secret_basic') {
      // RFC 6749 §2.3.1: both parts form-url-encoded before base64.
      const user = encodeURIComponent(this.options.clientId);
      const pass = encodeURIComponent(auth.secret);
      headers['authorization'] = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    } else if (auth.method === 'client_secret_post') {
      body.set('client_id', this.options.clientId);
      body.set('client_secret', auth.secret);
    } else {
      body.set('client_id', this.options.clientId);
      body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      body.set('client_assertion', await this.clientAssertion());
    }
    if (this.options.scope) body.set('scope', this.options.scope);
    if (this.options.resource) body.set('resource', this.options.resource);
    if (this.options.audience) body.set('audience', this.options.audience);

    const response = await this.send(endpoint, { method: 'POST', headers, body: body.toString() });
    const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      const oauthError = typeof json['error'] === 'string' ? json['error'] : undefined;
      // The provider's description says which setting is wrong; it never echoes a secret back.
      const description =
        typeof json['error_description'] === 'string' ? json['error_description'].slice(0, 200) : undefined;
      if (response.status === 400 || response.status === 401 || response.status === 403) {
        throw new AppError(
          'unauthenticated',
          `the OpenID provider ${this.issuer} refused client "${this.options.clientId}" (${response.status}${oauthError ? ` ${oauthError}` : ''}${description ? `: ${description}` : ''})`,
          { details: { error: oauthError, errorDescription: description } },
        );
      }
      throw new AppError(
        response.status === 429 ? 'rate_limited' : 'unavailable',
        `the OpenID provider ${this.issuer} answered ${response.status} to a token request`,
      );
    }
    const accessToken = json['access_token'];
    if (typeof accessToken !== 'string' || !accessToken)
      throw new AppError('internal', `the OpenID provider ${this.issuer} answered without an access_token`);
    const expiresIn = typeof json['expires_in'] === 'number' ? json['expires_in'] : undefined;
    return parseAccessToken(accessToken, expiresIn, this.options.claims);
  }

  private endpoint(): Promise<string> {
    this.tokenEndpoint ??= this.discover().catch((error: unknown) => {
      // A failed discovery is tried again on the next request, not remembered.
      this.tokenEndpoint = undefined;
      throw error;
    });
    return this.tokenEndpoint;
  }

  private async discover(): Promise<string> {
    const url = `${this.issuer}/.well-known/openid-configuration`;
    const response = await this.send(url, { headers: { accept: 'application/json' } });
    if (!response.ok)
      throw new AppError('unavailable', `OpenID discovery at ${url} answered ${response.status}`);
    const document = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
    if (typeof document['issuer'] !== 'string' || document['issuer'].replace(/\/+$/, '') !== this.issuer) {
      throw new AppError(
        'unauthenticated',
        `OpenID discovery at ${url} names issuer ${String(document['issuer'])}, not ${this.issuer}`,
      );
    }
    const endpoint = document['token_endpoint'];
    if (typeof endpoint !== 'string' || !URL.canParse(endpoint))
      throw new AppError('internal', `OpenID discovery at ${url} has no token_endpoint`);
    return endpoint;
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(url, {
        ...init,
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 5_000),
      });
    } catch (cause) {
      throw new AppError('unavailable', `the OpenID provider ${this.issuer} is unreachable`, { cause });
    }
  }

  private async clientAssertion(): Promise<string> {
    const auth = this.options.auth;
    if (auth.method !== 'private_key_jwt') throw new Error('unreachable: no private key configured');
    this.signingKey ??= (async () => {
      const alg = auth.privateJwk.alg ?? defaultAlgorithm(auth.privateJwk);
      return { key: await importJWK(auth.privateJwk, alg), alg, kid: auth.privateJwk.kid };
    })();
    const { key, alg, kid } = await this.signingKey;
    const now = Math.floor(Date.now() / 1000);
    // RFC 7523 §3 with the issuer as the audience (RFC 7523bis; oidc-provider and Keycloak accept it).
    return new SignJWT({})
      .setProtectedHeader(kid ? { alg, kid } : { alg })
      .setIssuer(this.options.clientId)
      .setSubject(this.options.clientId)
      .setAudience(this.issuer)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + ASSERTION_TTL_SEC)
      .sign(key);
  }

  private scheduleRenewal(renewAt: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.retryPending = false;
    this.timer = setTimeout(() => void this.backgroundRefresh(), Math.max(0, renewAt - Date.now()));
    this.timer.unref();
  }

  private scheduleRetry(): void {
    if (this.stopped || !this.cached) return;
    this.failures++;
    const delay = Math.min(this.options.maxBackoffMs ?? 30_000, 250 * 2 ** Math.min(this.failures, 8));
    clearTimeout(this.timer);
    this.retryPending = true;
    this.timer = setTimeout(() => {
      this.retryPending = false;
      void this.backgroundRefresh();
    }, delay);
    this.timer.unref();
  }

  private async backgroundRefresh(): Promise<void> {
    try {
      await this.refresh();
    } catch (error) {
      this.options.logger?.warn(
        {
          clientId: this.options.clientId,
          code: error instanceof AppError ? error.code : 'internal',
          cachedTokenExpiresAt: this.cached ? new Date(this.cached.expiresAt).toISOString() : undefined,
        },
        'access token renewal failed',
      );
    }
  }
}

function defaultAlgorithm(jwk: JWK): string {
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'OKP') return 'EdDSA';
  if (jwk.kty === 'EC') return jwk.crv === 'P-384' ? 'ES384' : jwk.crv === 'P-521' ? 'ES512' : 'ES256';
  throw new AppError(
    'validation_failed',
    `private key of type ${String(jwk.kty)} is not supported for private_key_jwt`,
  );
}
