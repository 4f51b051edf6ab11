import { AppError } from '@orgmesh/contracts';
import { CONSOLE_CLIENT_ID } from '../auth/authorization-codes.js';

/** Where and how the console signs a person in: the answer of `GET /console/config.json`. */
export interface ConsoleSignIn {
  mode: 'dev' | 'oidc';
  /** Where the browser goes to sign in (relative for the built-in issuer). */
  authorizationEndpoint: string;
  /** Where the console redeems the code (a CORS request at an external provider). */
  tokenEndpoint: string;
  clientId: string;
  scope: string;
}

export interface ConsoleSignInOptions {
  mode: 'dev' | 'oidc';
  /** OIDC mode: the provider's issuer, whose discovery document names the endpoints. */
  issuer?: string;
  clientId?: string;
  scope: string;
  /** How long the discovered endpoints are kept; default 5 min. */
  cacheMs?: number;
  fetch?: typeof fetch;
}

function endpoint(document: Record<string, unknown>, name: string): string {
  const value = document[name];
  const url = typeof value === 'string' ? URL.parse(value) : null;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new AppError('unavailable', `the OpenID provider's discovery document has no valid ${name}`);
  }
  return url.toString();
}

/**
 * The console's sign-in: the built-in issuer's own pages in dev mode; in oidc mode the provider's
 * authorization and token endpoints from its discovery document (fetched by the gateway, kept a few
 * minutes) with CONSOLE_OIDC_CLIENT_ID, so the console uses the provider's login.
 */
export function consoleSignIn(options: ConsoleSignInOptions): () => Promise<ConsoleSignIn> {
  if (options.mode === 'dev') {
    const dev: ConsoleSignIn = {
      mode: 'dev',
      authorizationEndpoint: '/v1/auth/authorize',
      tokenEndpoint: '/v1/auth/token',
      clientId: CONSOLE_CLIENT_ID,
      scope: 'orgmesh:person',
    };
    return async () => dev;
  }
  const cacheMs = options.cacheMs ?? 300_000;
  const get = options.fetch ?? fetch;
  let cached: { value: ConsoleSignIn; until: number } | undefined;
  return async () => {
    if (cached && cached.until > Date.now()) return cached.value;
    if (!options.clientId || !options.issuer) {
      throw new AppError(
        'unavailable',
        'the console has no client at the OpenID provider: set CONSOLE_OIDC_CLIENT_ID',
      );
    }
    let document: Record<string, unknown>;
    try {
      const res = await get(`${options.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, {
        signal: AbortSignal.timeout(5_000),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      document = (await res.json()) as Record<string, unknown>;
    } catch {
      throw new AppError('unavailable', "the OpenID provider's discovery document could not be read", {
        details: { retryAfterSec: 5 },
      });
    }
    const value: ConsoleSignIn = {
      mode: 'oidc',
      authorizationEndpoint: endpoint(document, 'authorization_endpoint'),
      tokenEndpoint: endpoint(document, 'token_endpoint'),
      clientId: options.clientId,
      scope: options.scope,
    };
    cached = { value, until: Date.now() + cacheMs };
    return value;
  };
}
