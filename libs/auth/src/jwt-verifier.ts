import {
  createLocalJWKSet,
  jwtVerify,
  errors as joseErrors,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import { AppError, claimAt, singleClaim } from '@orgmesh/contracts';
import { createRemoteJwks, JwksUnavailableError, type RemoteJwksOptions } from './jwks-cache.js';
import { PrincipalClaims, type Principal } from './principal.js';
import { verifyJwtSync } from './sync-jwt.js';

/**
 * Which claims carry the principal. Providers differ: Keycloak's `sub` is a service-account UUID
 * (the client id is in `azp`), Entra puts roles in `roles` and scopes in `scp`. Dotted paths
 * (`orgmesh.role`) reach into object claims; a one-element array counts as its element.
 */
export interface ClaimMapping {
  /** The agent id / user; default `sub`. */
  subject?: string;
  /** The org role; default `role`. */
  role?: string;
  /** Default `tenant` (absent: `default`). */
  tenant?: string;
  /** Space-separated string or array of scopes; default `scope`. */
  scope?: string;
}

export interface JwtVerifierOptions {
  issuer: string;
  audience: string;
  /** Remote JWKS (an OIDC issuer's or the gateway's built-in `/.well-known/jwks.json`). */
  jwksUrl?: string;
  /** A local key set (tests, or keys distributed out of band). */
  jwks?: JSONWebKeySet;
  /** Only asymmetric algorithms: `alg: none` and HS* (e.g. HS256 signed with a public key) are refused. */
  algorithms?: string[];
  clockToleranceSec?: number;
  /** Verified tokens are cached until shortly before they expire; 0 disables the cache. */
  cacheSize?: number;
  /** Claim names when the issuer's differ from orgmesh's own (`sub`, `role`, `tenant`, `scope`). */
  claims?: ClaimMapping;
  /** How the remote JWKS is cached and refetched (rotation, issuer outages). */
  jwksCache?: RemoteJwksOptions;
}

export interface JwtVerifier {
  /** Verifies a bearer token (with or without the `Bearer ` prefix); throws `unauthenticated` otherwise. */
  verify(token: string | undefined): Promise<Principal>;
}

const DEFAULT_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'];

/**
 * jose-backed verification against a JWKS. Every failure is `unauthenticated` (401) with a reason a
 * client can act on; the token itself never appears in the message.
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  let keys: JWTVerifyGetKey;
  if (options.jwks) keys = createLocalJWKSet(options.jwks);
  else if (options.jwksUrl) keys = createRemoteJwks(new URL(options.jwksUrl), options.jwksCache);
  else throw new Error('createJwtVerifier needs jwks or jwksUrl');
  const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;
  const cacheSize = options.cacheSize ?? 10_000;
  const clockToleranceSec = options.clockToleranceSec ?? 5;
  const cache = new Map<string, { principal: Principal; expiresAtMs: number }>();

  return {
    async verify(raw) {
      if (!raw) throw new AppError('unauthenticated', 'missing bearer token');
      const token = raw.startsWith('Bearer ') || raw.startsWith('bearer ') ? raw.slice(7).trim() : raw.trim();
      if (!token) throw new AppError('unauthenticated', 'missing bearer token');
      const cached = cacheSize > 0 ? cache.get(token) : undefined;
      if (cached) {
        if (cached.expiresAtMs > Date.now()) return cached.principal;
        cache.delete(token);
      }
      let payload: Record<string, unknown>;
      try {
        // The signature on this thread when the token's shape allows (sync-jwt.ts), else jose.
        payload =
          (await verifyJwtSync(token, keys, {
            issuer: options.issuer,
            audience: options.audience,
            algorithms,
            clockToleranceSec,
          })) ??
          (
            await jwtVerify(token, keys, {
              issuer: options.issuer,
              audience: options.audience,
              algorithms,
              clockTolerance: clockToleranceSec,
              requiredClaims: ['exp'],
            })
          ).payload;
      } catch (error) {
        throw new AppError('unauthenticated', `invalid token: ${reason(error)}`, { cause: error });
      }
      const claims = PrincipalClaims.safeParse(options.claims ? mapClaims(payload, options.claims) : payload);
      if (!claims.success) {
        throw new AppError(
          'unauthenticated',
          `invalid token: missing or malformed claims (${claims.error.issues.map((i) => i.path.join('.')).join(', ')})`,
        );
      }
      const principal: Principal = {
        subject: claims.data.sub,
        role: claims.data.role,
        tenant: claims.data.tenant,
        scopes: claims.data.scope.split(' ').filter(Boolean),
        token,
      };
      if (cacheSize > 0 && typeof payload['exp'] === 'number') {
        if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as string);
        cache.set(token, { principal, expiresAtMs: payload['exp'] * 1000 });
      }
      return principal;
    },
  };
}

/** The token's claims under orgmesh's names, so one schema validates every issuer's tokens. */
function mapClaims(payload: Record<string, unknown>, mapping: ClaimMapping): Record<string, unknown> {
  const scope = claimAt(payload, mapping.scope ?? 'scope');
  return {
    sub: singleClaim(claimAt(payload, mapping.subject ?? 'sub')),
    role: singleClaim(claimAt(payload, mapping.role ?? 'role')),
    tenant: singleClaim(claimAt(payload, mapping.tenant ?? 'tenant')),
    scope: Array.isArray(scope) ? scope.filter((s) => typeof s === 'string').join(' ') : scope,
  };
}

function reason(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `claim "${error.claim}" ${error.reason}`;
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'unknown signing key (kid)';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid)
    return 'malformed token';
  if (error instanceof joseErrors.JOSENotSupported) return 'unsupported token';
  if (error instanceof joseErrors.JWKSTimeout || error instanceof JwksUnavailableError)
    return 'issuer keys unreachable';
  return 'verification failed';
}
