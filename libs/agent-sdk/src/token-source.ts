import { decodeJwt } from 'jose';
import { AppError, claimAt, singleClaim } from '@orgmesh/contracts';
import type { Logger } from '@orgmesh/telemetry';
import { RenewingTokenSource } from './renewing-token-source.js';

/** What a token source hands out: the JWT, when it stops being valid, and the identity it names. */
export interface AccessToken {
  readonly token: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  /** `sub`: the agent id the mesh will believe. */
  readonly subject: string;
  /** `role`: the role the mesh will believe. */
  readonly role: string;
}

/**
 * Where an agent's access token comes from: the gateway's dev issuer (GatewayTokenSource), an OpenID
 * provider (OidcTokenSource), or a fixed token (StaticAccessTokenSource). Hands out the parsed token
 * (AccessToken), not just the JWT.
 */
export interface AccessTokenSource {
  /** A token valid for at least a little while longer (refreshed when close to expiry). */
  current(): Promise<AccessToken>;
  /** Forgets the cached token (after a 401), so the next `current()` fetches a new one. */
  invalidate(): void;
  stop(): void;
}

export interface GatewayTokenSourceOptions {
  /** Gateway base URL; the token endpoint is `<gatewayUrl>/v1/auth/token`. */
  gatewayUrl: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes to ask for; default: whatever the client is granted. */
  scope?: string;
  /** Refresh when less than this fraction of the token's lifetime is left; default 0.2 (at least 30 s before expiry). */
  refreshAtFraction?: number;
  /** Timeout of one token request; default 5 s. */
  requestTimeoutMs?: number;
  logger?: Logger;
  fetch?: typeof fetch;
}

const MIN_REFRESH_MARGIN_MS = 30_000;

/**
 * The gateway's dev issuer (`npm start`): OAuth2 client credentials against its token endpoint
 * (`POST /v1/auth/token`); production agents use OidcTokenSource. The token is cached and
 * refreshed in the background before it expires. Concurrent callers share one request. A failed
 * refresh is retried with backoff while the old token is still valid.
 */
export class GatewayTokenSource extends RenewingTokenSource {
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: GatewayTokenSourceOptions) {
    super();
    this.fetchImpl = options.fetch ?? fetch;
  }

  get tokenUrl(): string {
    return `${this.options.gatewayUrl.replace(/\/+$/, '')}/v1/auth/token`;
  }

  async current(): Promise<AccessToken> {
    const cached = this.cached;
    if (cached && cached.expiresAt - Date.now() > MIN_REFRESH_MARGIN_MS / 3) return cached;
    return this.refresh();
  }

  protected async request(): Promise<AccessToken> {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.options.clientId,
      client_secret: this.options.clientSecret,
    });
    if (this.options.scope) body.set('scope', this.options.scope);
    let response: Response;
    try {
      response = await this.fetchImpl(this.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: body.toString(),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 5_000),
      });
    } catch (cause) {
      this.scheduleRetry();
      throw new AppError('unavailable', `token endpoint ${this.tokenUrl} unreachable`, { cause });
    }
    if (!response.ok) {
      const problem = (await response.json().catch(() => ({}))) as { code?: unknown; detail?: unknown };
      if (response.status === 400 || response.status === 401 || response.status === 403) {
        // Wrong credentials do not fix themselves: no retry loop, the caller sees why.
        throw new AppError(
          'unauthenticated',
          `the gateway refused the client credentials of ${this.options.clientId} (${response.status}${typeof problem.code === 'string' ? ` ${problem.code}` : ''})`,
        );
      }
      this.scheduleRetry();
      throw new AppError(
        response.status === 429 ? 'rate_limited' : 'unavailable',
        `token endpoint answered ${response.status}`,
      );
    }
    const json = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof json.access_token !== 'string')
      throw new AppError('internal', 'token endpoint answered without an access_token');
    const token = parseAccessToken(
      json.access_token,
      typeof json.expires_in === 'number' ? json.expires_in : undefined,
    );
    this.cached = token;
    this.failures = 0;
    this.scheduleRefresh(token);
    this.options.logger?.debug(
      { clientId: this.options.clientId, expiresAt: new Date(token.expiresAt).toISOString() },
      'access token obtained',
    );
    return token;
  }

  private scheduleRefresh(token: AccessToken): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const lifetime = Math.max(0, token.expiresAt - Date.now());
    const margin = Math.max(MIN_REFRESH_MARGIN_MS, lifetime * (this.options.refreshAtFraction ?? 0.2));
    const delay = Math.max(1_000, lifetime - margin);
    this.timer = setTimeout(() => {
      this.refresh().catch((error: unknown) => {
        this.options.logger?.warn(
          { clientId: this.options.clientId, code: error instanceof AppError ? error.code : 'internal' },
          'access token refresh failed',
        );
      });
    }, delay);
    this.timer.unref();
  }

  private scheduleRetry(): void {
    if (this.stopped || !this.cached) return;
    this.failures++;
    const delay = Math.min(30_000, 500 * 2 ** Math.min(this.failures, 6));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.refresh().catch(() => undefined);
    }, delay);
    this.timer.unref();
  }
}

/** A fixed token (tests, or a token minted elsewhere); it is never refreshed. */
export class StaticAccessTokenSource implements AccessTokenSource {
  private readonly token: AccessToken;
  constructor(jwt: string) {
    this.token = parseAccessToken(jwt);
  }
  async current(): Promise<AccessToken> {
    return this.token;
  }
  invalidate(): void {}
  stop(): void {}
}

/** Reads the agent id (`sub`), `role` and `exp` from a JWT without verifying it (the services verify; the agent only needs to know its identity). */
export function parseAccessToken(
  jwt: string,
  expiresInSeconds?: number,
  claimNames: { readonly subject?: string; readonly role?: string } = {},
): AccessToken {
  let claims: ReturnType<typeof decodeJwt>;
  try {
    claims = decodeJwt(jwt);
  } catch (cause) {
    throw new AppError('unauthenticated', 'the access token is not a JWT', { cause });
  }
  const subjectClaim = claimNames.subject ?? 'sub';
  const roleClaim = claimNames.role ?? 'role';
  const subject = stringClaim(claims, subjectClaim);
  const role = stringClaim(claims, roleClaim);
  if (!subject || !role)
    throw new AppError('unauthenticated', `the access token has no ${subjectClaim} or ${roleClaim} claim`);
  const expiresAt =
    typeof claims.exp === 'number'
      ? claims.exp * 1000
      : expiresInSeconds !== undefined
        ? Date.now() + expiresInSeconds * 1000
        : Date.now() + 3_600_000;
  return { token: jwt, expiresAt, subject, role };
}

/**
 * A string claim by name or dotted path (`orgmesh.role`). A one-element array counts as its
 * element, because role mappers of providers such as Keycloak emit arrays.
 */
export function stringClaim(claims: Record<string, unknown>, path: string): string | undefined {
  const value = singleClaim(claimAt(claims, path));
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
