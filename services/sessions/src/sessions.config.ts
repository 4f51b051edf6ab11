import { z } from 'zod';
import { AUTH_TRUSTED_ISSUER_ENV } from '@orgmesh/auth';
import { env, httpListenEnv, parseConfig, storeServiceEnv } from '@orgmesh/config';
import { MESSAGING_RETENTION_ENV } from '@orgmesh/messaging';

/** The only place the sessions service reads its environment. */
export const SessionsConfigSchema = z.object({
  /** NATS, Postgres, MIGRATE_ON_START, LOG_LEVEL and OTEL_* keys, read alike by every stateful service. */
  ...storeServiceEnv,
  /** The health and metrics port (loopback unless SESSIONS_HTTP_HOST is set; ADR 0010). */
  ...httpListenEnv('SESSIONS', 8101),
  SESSION_IDLE_TIMEOUT: env.duration('30m'),
  SESSION_RETENTION_DAYS: env.int(30, 1),
  SESSION_SWEEP_INTERVAL: env.duration('30s'),
  SESSION_RETENTION_INTERVAL: env.duration('1h'),
  /** Idempotency records of creates are kept this long (a retry after that is a new request); 0 keeps them. */
  SESSION_IDEMPOTENCY_RETENTION: env.duration('7d'),
  /** Rows the retention job deletes per batch (one short transaction each). */
  SESSION_RETENTION_BATCH_SIZE: env.int(1000, 1),
  /** Rest between two retention batches, so a backlog is worked off without starving live writes. */
  SESSION_RETENTION_BATCH_PAUSE: env.duration('50ms'),
  /** PROCESSED_EVENTS_RETENTION and OUTBOX_RETENTION, read alike by every service with a schema. */
  ...MESSAGING_RETENTION_ENV,
  /** apply-event fast path: most transitions written (or rows read) by one statement (README: batching). */
  SESSION_BATCH_MAX: env.int(64, 1),
  /** apply-event fast path: write statements (and read statements) in flight at once. */
  SESSION_BATCH_IN_FLIGHT: env.int(2, 1),
  /** Session rows each replica remembers to decide events without reading them; 0 disables. */
  SESSION_ROW_CACHE_SIZE: env.int(10_000, 0),
  /** Identity: AUTH_ISSUER, AUTH_AUDIENCE, AUTH_JWKS_URL, AUTH_*_CLAIM, JWKS caching (libs/auth, docs/identity.md). */
  ...AUTH_TRUSTED_ISSUER_ENV,
});
export type SessionsConfig = z.infer<typeof SessionsConfigSchema>;

export function loadSessionsConfig(source: Record<string, string | undefined> = process.env): SessionsConfig {
  return parseConfig('sessions', SessionsConfigSchema, source);
}
