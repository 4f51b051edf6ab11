import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '@orgmesh/contracts';

/**
 * A public OAuth client of the built-in issuer (no secret: a browser app), allowed to receive codes
 * at exactly these redirect URIs.
 */
export interface PublicClient {
  clientId: string;
  redirectUris: readonly string[];
}

/** The console: the only public client, redirected back to /console/ (RFC 8252-style exact match). */
export const CONSOLE_CLIENT_ID = 'orgmesh-console';

export function consoleClient(publicUrl: string): PublicClient {
  return { clientId: CONSOLE_CLIENT_ID, redirectUris: [`${publicUrl.replace(/\/+$/, '')}/console/`] };
}

/** What an authorization request asked for, kept with the code until it is redeemed. */
export interface AuthorizationGrant {
  clientId: string;
  redirectUri: string;
  /** BASE64URL(SHA256(code_verifier)), RFC 7636 §4.2. */
  codeChallenge: string;
  personId: string;
}

/** RFC 7636 §4.1: 43–128 characters of [A-Z a-z 0-9 - . _ ~]. */
export const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
/** An S256 challenge is a base64url SHA-256: 43 characters. */
export const CODE_CHALLENGE = /^[A-Za-z0-9\-_]{43}$/;

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

function invalidGrant(message: string): AppError {
  return new AppError('validation_failed', message, { details: { error: 'invalid_grant' } });
}

/**
 * Authorization codes of the built-in issuer (RFC 6749 §4.1 with PKCE S256, RFC 7636). A code is
 * random (256 bits), lives a minute, and is single use: the first redemption removes it whether it
 * succeeds or not, so a code seen by anyone else (a log, a referrer) is worth nothing afterwards.
 * In memory only, like the issuer's keys: a restart voids codes in flight, which a dev issuer may.
 */
export class AuthorizationCodes {
  private readonly codes = new Map<string, AuthorizationGrant & { expiresAtMs: number }>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
    /** Codes outstanding at most: a flood of authorizations cannot grow memory without bound. */
    private readonly maxOutstanding = 10_000,
  ) {
    this.sweep = setInterval(() => this.prune(), Math.max(1_000, ttlMs));
    this.sweep.unref();
  }

  issue(grant: AuthorizationGrant): string {
    this.prune();
    if (this.codes.size >= this.maxOutstanding) {
      throw new AppError('rate_limited', 'too many authorization codes outstanding; try again in a minute', {
        details: { retryAfterSec: Math.ceil(this.ttlMs / 1000) },
      });
    }
    const code = randomBytes(32).toString('base64url');
    this.codes.set(code, { ...grant, expiresAtMs: this.now() + this.ttlMs });
    return code;
  }

  /**
   * The grant of a code, if the client, the redirect URI and the verifier match what the
   * authorization request said; `invalid_grant` (400) otherwise, naming what did not match.
   */
  redeem(input: {
    code: string;
    clientId: string;
    redirectUri: string;
    codeVerifier: string;
  }): AuthorizationGrant {
    const grant = this.codes.get(input.code);
    this.codes.delete(input.code);
    if (!grant || grant.expiresAtMs <= this.now()) {
      throw invalidGrant('the authorization code is unknown, expired or already used');
    }
    if (grant.clientId !== input.clientId) throw invalidGrant('the code was issued to another client');
    if (grant.redirectUri !== input.redirectUri) {
      throw invalidGrant('redirect_uri differs from the one of the authorization request');
    }
    if (!CODE_VERIFIER.test(input.codeVerifier)) {
      throw invalidGrant('code_verifier must be 43-128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636)');
    }
    const expected = Buffer.from(grant.codeChallenge);
    const actual = Buffer.from(s256(input.codeVerifier));
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
      throw invalidGrant('code_verifier does not match the code_challenge (S256)');
    }
    return grant;
  }

  close(): void {
    clearInterval(this.sweep);
    this.codes.clear();
  }

  private prune(): void {
    const now = this.now();
    for (const [code, grant] of this.codes) if (grant.expiresAtMs <= now) this.codes.delete(code);
  }
}
