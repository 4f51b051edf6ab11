import { decodeJwt } from 'jose';
import { stringClaim, type TokenClaimNames } from '@orgmesh/agent-sdk';
import { GatewayError, errorFromResponse } from './gateway.errors.js';

/** Where the bearer token of a gateway call comes from. */
export interface TokenSource {
  /** A token valid for a while yet; `refresh` forces a new one (after a 401). */
  token(refresh?: boolean): Promise<string>;
}

/** What a token says about its holder (read, not verified: the gateway verifies it). */
export interface TokenClaims {
  readonly subject: string | undefined;
  readonly role: string | undefined;
  readonly expiresAt: number | undefined;
}

/** `names` are the configured claims (ORGMESH_OIDC_SUBJECT_CLAIM / _ROLE_CLAIM); default `sub` and `role`. */
export function claimsOf(token: string, names: TokenClaimNames = {}): TokenClaims {
  try {
    const claims = decodeJwt(token);
    return {
      subject: stringClaim(claims, names.subject ?? 'sub'),
      role: stringClaim(claims, names.role ?? 'role'),
      expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : undefined,
    };
  } catch {
    return { subject: undefined, role: undefined, expiresAt: undefined };
  }
}

export interface ClientCredentialsOptions {
  readonly gatewayUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

/**
 * OAuth2 client credentials against the gateway's `POST /v1/auth/token`. The token is cached and
 * renewed before it expires (at 80% of its lifetime, and at least 30 s early); concurrent callers
 * share one request. The secret is sent in the body, never logged.
 */
export class ClientCredentialsTokenProvider implements TokenSource {
  private cached: { token: string; renewAt: number } | undefined;
  private pending: Promise<string> | undefined;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly options: ClientCredentialsOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.now = options.now ?? Date.now;
  }

  async token(refresh = false): Promise<string> {
    if (!refresh && this.cached && this.now() < this.cached.renewAt) return this.cached.token;
    if (refresh) this.cached = undefined;
    this.pending ??= this.issue().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async issue(): Promise<string> {
    const url = `${this.options.gatewayUrl}/v1/auth/token`;
    const issuedAt = this.now();
    let res: Response;
    try {
      res = await this.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({
          grant_type: 'client_credentials',
          client_id: this.options.clientId,
          client_secret: this.options.clientSecret,
        }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw unreachable(this.options.gatewayUrl, error);
    }
    const body: unknown = await res.json().catch(() => undefined);
    if (!res.ok) {
      const error = errorFromResponse(res.status, body);
      throw new GatewayError(
        error.code,
        `token for client "${this.options.clientId}" refused: ${error.message}`,
        error.status,
        error.details,
      );
    }
    const { access_token: token, expires_in: expiresIn } = (body ?? {}) as {
      access_token?: unknown;
      expires_in?: unknown;
    };
    if (typeof token !== 'string' || !token)
      throw new GatewayError('internal', 'the token endpoint answered without an access_token', res.status);
    const ttlMs = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn * 1000 : 300_000;
    const renewAt = issuedAt + Math.min(ttlMs * 0.8, Math.max(0, ttlMs - 30_000));
    this.cached = { token, renewAt };
    return token;
  }
}

/** A token handed in by the caller (an MCP HTTP client's own bearer): used as is, never refreshed. */
export class StaticTokenSource implements TokenSource {
  constructor(private readonly value: string) {}
  async token(): Promise<string> {
    return this.value;
  }
}

/** The error for a gateway that did not answer at all. */
export function unreachable(gatewayUrl: string, error: unknown): GatewayError {
  const cause = error as { name?: string; cause?: { code?: string } };
  if (cause?.name === 'TimeoutError' || cause?.name === 'AbortError') {
    return new GatewayError(
      'timeout',
      `the gateway at ${gatewayUrl} did not answer in time`,
      0,
      {},
      { cause: error },
    );
  }
  const code = cause?.cause?.code ?? (error instanceof Error ? error.message : 'unknown error');
  return new GatewayError(
    'unavailable',
    `the gateway at ${gatewayUrl} is unreachable (${code})`,
    0,
    {},
    { cause: error },
  );
}
