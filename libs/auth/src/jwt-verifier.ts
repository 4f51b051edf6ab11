import {
  createLocalJWKSet,
  createRemoteJWKSet,
  jwtVerify,
  errors as joseErrors,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import { AppError } from '@orgmesh/contracts';
import { PrincipalClaims, type Principal } from './principal.js';

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
  else if (options.jwksUrl) keys = createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: 5_000, cacheMaxAge: 600_000 });
  else throw new Error('createJwtVerifier needs jwks or jwksUrl');
  const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;
  const cacheSize = options.cacheSize ?? 10_000;
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
        ({ payload } = await jwtVerify(token, keys, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms,
          clockTolerance: options.clockToleranceSec ?? 5,
          requiredClaims: ['exp', 'sub'],
        }));
      } catch (error) {
        throw new AppError('unauthenticated', `invalid token: ${reason(error)}`, { cause: error });
      }
      const claims = PrincipalClaims.safeParse(payload);
      if (!claims.success) {
        throw new AppError('unauthenticated', `invalid token: missing or malformed claims (${claims.error.issues.map((i) => i.path.join('.')).join(', ')})`);
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

function reason(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `claim "${error.claim}" ${error.reason}`;
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'unknown signing key (kid)';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return 'malformed token';
  if (error instanceof joseErrors.JOSENotSupported) return 'unsupported token';
  if (error instanceof joseErrors.JWKSTimeout) return 'issuer keys unreachable';
  return 'verification failed';
}
