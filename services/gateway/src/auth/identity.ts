import { AppError } from '@orgmesh/contracts';
import {
  ClientRegistry,
  createJwtVerifier,
  verifierTuning,
  DevIssuer,
  type ClientDefinition,
  type ClientRecord,
  type JwtVerifier,
  type TokenResponse,
} from '@orgmesh/auth';
import type { Logger } from '@orgmesh/telemetry';
import type { GatewayConfig } from '../gateway.config.js';
import { bearerToken } from './bearer.js';
import { toCaller, type Caller } from './caller.js';
import {
  devClientDefinitions,
  findDemoRegistryDir,
  parseDevClientList,
  readRegistryAgents,
} from './dev-clients.js';

/** Token verification (both modes) and, in dev mode, the built-in issuer and its clients. */
export interface GatewayIdentity {
  readonly mode: 'dev' | 'oidc';
  readonly issuer: string;
  readonly audience: string;
  /** Verifies the `Authorization` header (Bearer scheme only); `unauthenticated` (401) or `forbidden` (403, no orgmesh scope). */
  authenticate(authorization: string | undefined): Promise<Caller>;
  /** The built-in issuer, dev mode only. */
  readonly dev: DevIdentity | undefined;
  close(): void;
}

export interface DevIdentity {
  readonly issuer: DevIssuer;
  readonly clients: ClientRegistry;
  /** Issues a token for a client whose secret matches, or throws `unauthenticated`. */
  token(clientId: string, clientSecret: string, requestedScopes?: readonly string[]): Promise<TokenResponse>;
}

export interface IdentityOptions {
  /** Replaces the dev clients derived from the registry directory (tests). */
  devClients?: ClientDefinition[];
}

/**
 * The gateway's identity: an external OIDC issuer's tokens (AUTH_MODE=oidc), or the built-in dev
 * issuer with its clients, its key rotation and a verifier that follows the rotations.
 */
export async function createIdentity(
  config: GatewayConfig,
  publicUrl: string,
  logger: Logger,
  options: IdentityOptions = {},
): Promise<GatewayIdentity> {
  if (config.AUTH_MODE === 'oidc') return oidcIdentity(config, logger);

  // Said at every start, so a dev-mode gateway that reached a real deployment is noticed in its logs.
  logger.warn(
    { mode: 'dev', docs: 'docs/identity.md' },
    'identity: built-in dev issuer with documented secrets, for npm start only; production uses AUTH_MODE=oidc',
  );
  const issuerUrl = config.AUTH_ISSUER ?? publicUrl;
  const audience = config.AUTH_AUDIENCE ?? 'orgmesh';
  const tokenTtlSec = Math.max(1, Math.round(config.AUTH_TOKEN_TTL / 1000));
  const issuer = await DevIssuer.create({ issuer: issuerUrl, audience, tokenTtlSec });
  const definitions = options.devClients ?? loadDevClients(config, logger);
  const clients = await ClientRegistry.create(definitions, { cost: config.AUTH_SECRET_HASH_COST });
  const currentVerifier = followingVerifier(issuer, audience);

  const rotation = setInterval(() => {
    issuer.rotate().then(
      (kid) => logger.info({ kid }, 'dev issuer rotated its signing key'),
      (error: unknown) => logger.error({ err: error }, 'dev issuer key rotation failed'),
    );
  }, config.AUTH_KEY_ROTATION);
  rotation.unref();

  return {
    mode: 'dev',
    issuer: issuer.issuer,
    audience,
    dev: devIdentity(issuer, clients),
    authenticate: async (authorization) =>
      toCaller(await currentVerifier().verify(bearerToken(authorization))),
    close: () => clearInterval(rotation),
  };
}

/** An external issuer's tokens, verified against its JWKS (AUTH_JWKS_URL, or found by discovery). */
function oidcIdentity(config: GatewayConfig, logger: Logger): GatewayIdentity {
  const issuer = config.AUTH_ISSUER ?? '';
  const audience = config.AUTH_AUDIENCE ?? '';
  const tuning = verifierTuning(config);
  const verifier = createJwtVerifier({ issuer, audience, jwksUrl: config.AUTH_JWKS_URL, ...tuning });
  logger.info({ mode: 'oidc', issuer, audience, claims: tuning.claims }, 'identity: external issuer');
  return {
    mode: 'oidc',
    issuer,
    audience,
    dev: undefined,
    authenticate: async (authorization) => toCaller(await verifier.verify(bearerToken(authorization))),
    close() {},
  };
}

/**
 * The verifier works on a snapshot of the JWKS; it is rebuilt when the key set changes (a
 * rotation, or a retired key leaving after its overlap).
 */
function followingVerifier(issuer: DevIssuer, audience: string): () => JwtVerifier {
  let verifierVersion = -1;
  let verifier: JwtVerifier | undefined;
  return () => {
    const version = issuer.keySetVersion();
    if (!verifier || version !== verifierVersion) {
      verifier = createJwtVerifier({ issuer: issuer.issuer, audience, jwks: issuer.jwks() });
      verifierVersion = version;
    }
    return verifier;
  };
}

/**
 * The dev issuer's token grant: a client whose secret matches gets its own scopes, or the requested
 * ones when all of them are its own (OAuth2's invalid_client and invalid_scope otherwise).
 */
function devIdentity(issuer: DevIssuer, clients: ClientRegistry): DevIdentity {
  return {
    issuer,
    clients,
    async token(clientId, clientSecret, requestedScopes) {
      const client: ClientRecord | undefined = await clients.authenticate(clientId, clientSecret);
      if (!client) {
        throw new AppError('unauthenticated', 'invalid client credentials', {
          details: { error: 'invalid_client' },
        });
      }
      let scopes = client.scopes;
      if (requestedScopes?.length) {
        const refused = requestedScopes.filter((s) => !client.scopes.includes(s));
        if (refused.length) {
          throw new AppError('validation_failed', `scope not allowed for this client: ${refused.join(' ')}`, {
            details: {
              error: 'invalid_scope',
              issues: [{ path: 'scope', message: `not allowed: ${refused.join(' ')}` }],
            },
          });
        }
        scopes = requestedScopes;
      }
      return issuer.issue({
        sub: client.subject,
        role: client.role,
        tenant: client.tenant,
        scopes,
        clientId: client.clientId,
      });
    },
  };
}

function loadDevClients(config: GatewayConfig, logger: Logger): ClientDefinition[] {
  const registryDir = config.AUTH_DEV_REGISTRY_DIR ?? findDemoRegistryDir();
  const agents = registryDir ? readRegistryAgents(registryDir) : [];
  if (!agents.length)
    logger.warn({ registryDir }, 'dev issuer: no registry agents found; only admin and viewer clients exist');
  return devClientDefinitions(
    agents,
    config.AUTH_DEV_CLIENTS ? parseDevClientList(config.AUTH_DEV_CLIENTS) : [],
  );
}
