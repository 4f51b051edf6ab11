import { z } from 'zod';
import { env } from '@orgmesh/config';
import { createJwtVerifier, type JwtVerifier, type JwtVerifierOptions } from './jwt-verifier.js';

const optionalClaim = env.optionalString();

/**
 * The environment keys with which every service that verifies tokens reads an OpenID provider's
 * claims and caches its keys the same way (gateway, privacy proxy, sessions, registry, mesh-router):
 * spread into the service's config schema. A service that mapped claims differently from the gateway
 * would see another agent id in the very token the gateway forwarded.
 */
export const AUTH_VERIFIER_ENV = {
  /** Where the agent id is; default `sub` (Keycloak: `azp`). Dotted paths reach into objects. */
  AUTH_SUBJECT_CLAIM: optionalClaim,
  /** Where the org role is; default `role`. A one-element array counts as its element. */
  AUTH_ROLE_CLAIM: optionalClaim,
  AUTH_TENANT_CLAIM: optionalClaim,
  /** A space-separated string or an array (`scp`); default `scope`. */
  AUTH_SCOPE_CLAIM: optionalClaim,
  /** The issuer's JWKS is refetched in the background this often (and at once for an unknown kid). */
  AUTH_JWKS_REFRESH: env.duration('10m'),
  /** How long the last JWKS fetched keeps verifying while the issuer is unreachable. */
  AUTH_JWKS_MAX_STALE: env.duration('24h'),
};

type VerifierEnv = { [K in keyof typeof AUTH_VERIFIER_ENV]: z.infer<(typeof AUTH_VERIFIER_ENV)[K]> };

/**
 * The keys of a service that trusts one issuer (sessions, registry, mesh-router): every RPC's
 * forwarded JWT is verified against this issuer's JWKS (the gateway's built-in issuer by default;
 * `<AUTH_ISSUER>/.well-known/jwks.json` unless AUTH_JWKS_URL is set), with the claims and caching
 * of AUTH_VERIFIER_ENV. Read by verifierFromConfig.
 */
export const AUTH_TRUSTED_ISSUER_ENV = {
  AUTH_ISSUER: z.string().min(1).default('http://127.0.0.1:8080'),
  AUTH_AUDIENCE: z.string().min(1).default('orgmesh'),
  AUTH_JWKS_URL: z.url().optional(),
  ...AUTH_VERIFIER_ENV,
};

/** The verifier options those keys stand for. */
export function verifierTuning(config: VerifierEnv): Pick<JwtVerifierOptions, 'claims' | 'jwksCache'> {
  return {
    claims: {
      subject: config.AUTH_SUBJECT_CLAIM,
      role: config.AUTH_ROLE_CLAIM,
      tenant: config.AUTH_TENANT_CLAIM,
      scope: config.AUTH_SCOPE_CLAIM,
    },
    jwksCache: { refreshAfterMs: config.AUTH_JWKS_REFRESH, maxStaleMs: config.AUTH_JWKS_MAX_STALE },
  };
}

/**
 * The verifier of a service that trusts one issuer: its keys from `AUTH_JWKS_URL`, or the issuer's
 * own `/.well-known/jwks.json` (the gateway's built-in issuer publishes its keys there), tuned by the
 * keys above. Sessions, the registry and the mesh router build theirs here, so they cannot drift.
 */
export function verifierFromConfig(
  config: VerifierEnv & { AUTH_ISSUER: string; AUTH_AUDIENCE: string; AUTH_JWKS_URL?: string | undefined },
): JwtVerifier {
  return createJwtVerifier({
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    jwksUrl: config.AUTH_JWKS_URL ?? `${config.AUTH_ISSUER.replace(/\/$/, '')}/.well-known/jwks.json`,
    ...verifierTuning(config),
  });
}
