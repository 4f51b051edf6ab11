import { z } from 'zod';
import { AUTH_TRUSTED_ISSUER_ENV } from '@orgmesh/auth';
import { env, httpListenEnv, parseConfig, storeServiceEnv } from '@orgmesh/config';
import { MESSAGING_RETENTION_ENV } from '@orgmesh/messaging';

/** The only place the registry service reads its environment. Durations accept `500ms`, `30s`, `15m`. */
export const RegistryConfigSchema = z.object({
  /** NATS, Postgres, MIGRATE_ON_START, LOG_LEVEL and OTEL_* keys, read alike by every stateful service. */
  ...storeServiceEnv,
  /** The health and metrics port (loopback unless REGISTRY_HTTP_HOST is set; ADR 0010). */
  ...httpListenEnv('REGISTRY', 8102),

  /**
   * The registry directory loaded at startup (relative to the working directory) when its content
   * differs from the current version. Empty: load nothing at startup (versions come from `load`).
   */
  REGISTRY_DIR: z.string().default('deploy/registry'),
  /**
   * An org chart CSV imported at startup when the registry holds none yet (a seed for fresh
   * installations: the privacy proxy's directory and the mesh's escalations need people). An org
   * chart imported since, through the API, is never replaced. Empty: no seed.
   */
  REGISTRY_ORG_CHART: z.string().default(''),
  /**
   * The ES256 key that signs published profiles: a private EC P-256 JWK (JSON) or a PEM (PKCS#8 or SEC1).
   * A secret. Unset: a key is generated at startup (dev) and the log says so.
   */
  REGISTRY_SIGNING_KEY: z.string().min(1).optional(),

  /**
   * `on`: admin-only RPCs (load, import-org, assign-profile) and heartbeats verify the caller's JWT
   * (the NATS `authorization` header). `off`: no checks (tests, trusted single-user setups); logged at startup.
   */
  REGISTRY_AUTH: z.enum(['on', 'off']).default('on'),
  /** Identity: AUTH_ISSUER, AUTH_AUDIENCE, AUTH_JWKS_URL, AUTH_*_CLAIM, JWKS caching (libs/auth, docs/identity.md). */
  ...AUTH_TRUSTED_ISSUER_ENV,

  /** Longest wait for a remote A2A agent's card (and its key set) when a registry is loaded (ADR 0021). */
  REGISTRY_A2A_CARD_TIMEOUT: env.duration('5s'),

  /** An agent silent for longer than this is offline. */
  REGISTRY_PRESENCE_TIMEOUT: env.duration('30s'),
  /** How often the presence job looks for silent agents (one replica at a time, advisory lock). */
  REGISTRY_PRESENCE_SWEEP_INTERVAL: env.duration('5s'),
  /** How often a replica checks for a registry version loaded by another replica. */
  REGISTRY_REFRESH_INTERVAL: env.duration('2s'),
  /** How often the retention job runs (one replica at a time, advisory lock; docs/operations.md). */
  REGISTRY_RETENTION_INTERVAL: env.duration('1h'),
  /** PROCESSED_EVENTS_RETENTION and OUTBOX_RETENTION, read alike by every service with a schema. */
  ...MESSAGING_RETENTION_ENV,

  /** Endpoints written into rendered agent configs; every replica must agree or config hashes differ. */
  PRIVACY_PROXY_URL: z.url().default('http://127.0.0.1:8090'),
  GATEWAY_URL: z.url().default('http://127.0.0.1:8080'),
  REGISTRY_MCP_COMMAND: z.string().min(1).default('orgmesh-mcp'),
});
export type RegistryConfig = z.infer<typeof RegistryConfigSchema>;

export function loadRegistryConfig(source: Record<string, string | undefined> = process.env): RegistryConfig {
  return parseConfig('registry', RegistryConfigSchema, source);
}
