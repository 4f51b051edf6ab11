import { z } from 'zod';
import { ConfigError, env, httpListenEnv, natsEnv, parseConfig, telemetryEnv } from '@orgmesh/config';
import { AUTH_VERIFIER_ENV } from '@orgmesh/auth';

const optionalString = env.optionalString();

function isLoopback(url: URL): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

/** The only place the gateway reads its environment. */
export const GatewayConfigSchema = z.object({
  ...natsEnv,
  /** The REST port (GATEWAY_HTTP_PORT) and the address it binds (GATEWAY_HTTP_HOST, loopback unless set). */
  ...httpListenEnv('GATEWAY', 8080),
  GATEWAY_GRPC_HOST: z.string().min(1).default('127.0.0.1'),
  GATEWAY_GRPC_PORT: env.port(50051),
  /** gRPC server reflection (grpcurl list/describe), unauthenticated: it exposes only the public schema. */
  GATEWAY_GRPC_REFLECTION: env.bool(true),
  /** The URL clients reach the gateway at; the dev issuer's `iss`. Defaults to http://127.0.0.1:<port>. */
  GATEWAY_PUBLIC_URL: optionalString,
  /** NATS request timeout for one RPC to a service. */
  GATEWAY_RPC_TIMEOUT: env.duration('5s'),
  /**
   * NATS request timeout of each RPC of the org import and registry load (the routes with
   * GATEWAY_MAX_IMPORT_BYTES): importing 100,000 people takes the registry seconds.
   */
  GATEWAY_IMPORT_RPC_TIMEOUT: env.duration('60s'),
  /** Token bucket per client: sustained requests per second and burst size. */
  GATEWAY_RATE_LIMIT_RPS: env.int(50, 1),
  GATEWAY_RATE_LIMIT_BURST: env.int(100, 1),
  GATEWAY_MAX_BODY_BYTES: env.int(1_048_576, 1),
  /**
   * The org chart import (and registry load) takes a CSV and has its own, larger limit: 100,000
   * people are about 9 MB of CSV; the gateway sends what passes one NATS message in parts.
   */
  GATEWAY_MAX_IMPORT_BYTES: env.int(20_971_520, 1),
  /** Comma-separated origins allowed by CORS; CORS is off when unset. `*` allows any origin. */
  GATEWAY_CORS_ORIGINS: optionalString,
  GATEWAY_SSE_HEARTBEAT: env.duration('15s'),
  /**
   * Key of the SSE stream tickets (`POST /v1/events/tickets`, events/stream-ticket.ts): 32 bytes,
   * base64 or hex. Every replica behind one load balancer needs the same key; unset, each process
   * draws its own, so a ticket works only on the replica that issued it.
   */
  GATEWAY_STREAM_TICKET_KEY: optionalString,
  /** Lifetime of a stream ticket (single use; long enough to open the EventSource). */
  GATEWAY_STREAM_TICKET_TTL: env.duration('30s'),
  /** The A2A server over the mesh (`/a2a/<agent-id>`, Agent Cards; ADR 0018). */
  GATEWAY_A2A: env.bool(true),
  /**
   * The ES256 key that signs Agent Cards: a private EC P-256 JWK (JSON) or PEM, the forms of the
   * registry's REGISTRY_SIGNING_KEY (give it the same secret to sign cards with the registry's key).
   * A secret; the same on every replica. Unset: drawn at startup (dev).
   */
  GATEWAY_A2A_SIGNING_KEY: optionalString,
  /** How long a blocking A2A SendMessage waits for a terminal or interrupted state before answering the task as it is. */
  GATEWAY_A2A_BLOCKING_TIMEOUT: env.duration('30s'),
  /** A2A push-notification configs, delivered at least once by a durable consumer shared by the replicas. */
  GATEWAY_A2A_PUSH: env.bool(true),
  /**
   * Push callbacks allowed although not public (loopback, private, link-local are refused otherwise):
   * host names, addresses or CIDR ranges, comma-separated.
   */
  GATEWAY_A2A_PUSH_ALLOW: optionalString,
  /**
   * OIDC mode: the console's client id at the OpenID provider (a public client: authorization code
   * with PKCE, redirect URI `<GATEWAY_PUBLIC_URL>/console/`). Unset: the console cannot sign anyone in.
   */
  CONSOLE_OIDC_CLIENT_ID: optionalString,
  /** OIDC mode: the scopes the console asks the provider for (a person's token carries orgmesh:person). */
  CONSOLE_OIDC_SCOPE: z.string().default('openid orgmesh:person'),
  /** `dev`: the built-in issuer with documented dev secrets. `oidc`: an external issuer (production). */
  AUTH_MODE: z.enum(['dev', 'oidc']).default('dev'),
  AUTH_ISSUER: optionalString,
  AUTH_AUDIENCE: optionalString,
  AUTH_JWKS_URL: optionalString,
  /** OIDC mode: AUTH_*_CLAIM (where agent id, role, tenant, scopes are) and JWKS caching, as every verifier reads them. */
  ...AUTH_VERIFIER_ENV,
  AUTH_TOKEN_TTL: env.duration('1h'),
  AUTH_KEY_ROTATION: env.duration('24h'),
  /** Registry directory whose agents become dev clients (`<agent-id>` / `<agent-id>-dev-secret`). */
  AUTH_DEV_REGISTRY_DIR: optionalString,
  /** Extra dev clients, `id:role` or `id:role:admin|agent|viewer`, comma-separated. */
  AUTH_DEV_CLIENTS: optionalString,
  /** scrypt cost for hashing client secrets (a power of two). */
  AUTH_SECRET_HASH_COST: env.int(16_384, 1024),
  ...telemetryEnv,
});
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;

/**
 * Parses the environment. Production mode (`AUTH_MODE=oidc`) refuses to start without an issuer,
 * an audience and a JWKS URL, and refuses any dev client configuration (dev secrets).
 */
export function loadGatewayConfig(source: Record<string, string | undefined> = process.env): GatewayConfig {
  const config = parseConfig('gateway', GatewayConfigSchema, source);
  const problems: Array<{ key: string; reason: string }> = [];
  if (config.AUTH_MODE === 'oidc') {
    for (const key of ['AUTH_ISSUER', 'AUTH_AUDIENCE', 'AUTH_JWKS_URL'] as const) {
      if (!config[key]) problems.push({ key, reason: 'required when AUTH_MODE=oidc' });
    }
    for (const key of ['AUTH_DEV_CLIENTS', 'AUTH_DEV_REGISTRY_DIR'] as const) {
      if (config[key])
        problems.push({ key, reason: 'dev clients and their secrets are refused when AUTH_MODE=oidc' });
    }
    if (config.AUTH_JWKS_URL) {
      const url = URL.parse(config.AUTH_JWKS_URL);
      if (!url) problems.push({ key: 'AUTH_JWKS_URL', reason: 'expected a URL' });
      else if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url))) {
        problems.push({ key: 'AUTH_JWKS_URL', reason: 'expected https (plain http only on loopback)' });
      }
    }
  }
  if ((config.AUTH_SECRET_HASH_COST & (config.AUTH_SECRET_HASH_COST - 1)) !== 0) {
    problems.push({ key: 'AUTH_SECRET_HASH_COST', reason: 'expected a power of two' });
  }
  if (problems.length) throw new ConfigError('gateway', problems);
  return config;
}
