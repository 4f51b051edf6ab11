import { z } from 'zod';
import { AUTH_TRUSTED_ISSUER_ENV } from '@orgmesh/auth';
import { env, httpListenEnv, parseConfig, storeServiceEnv } from '@orgmesh/config';
import { MESSAGING_RETENTION_ENV } from '@orgmesh/messaging';

/** The only place the mesh router reads its environment. Durations accept `30s`, `15m`, `2h`, `1d`. */
export const MeshRouterConfigSchema = z.object({
  /** NATS, Postgres, MIGRATE_ON_START, LOG_LEVEL and OTEL_* keys, read alike by every stateful service. */
  ...storeServiceEnv,
  /** The health and metrics port (loopback unless MESH_HTTP_HOST is set; ADR 0010). */
  ...httpListenEnv('MESH', 8103),

  /** Identity: AUTH_ISSUER, AUTH_AUDIENCE, AUTH_JWKS_URL, AUTH_*_CLAIM, JWKS caching (libs/auth, docs/identity.md). */
  ...AUTH_TRUSTED_ISSUER_ENV,

  /** Deadline of a create that names none, per kind. */
  MESH_DEADLINE_TASK: env.duration('1h'),
  MESH_DEADLINE_APPROVAL: env.duration('24h'),
  MESH_DEADLINE_NOTIFICATION: env.duration('24h'),
  /** The latest deadline a caller may ask for, from now. */
  MESH_MAX_DEADLINE: env.duration('30d'),
  /** An undecided approval escalates when this fraction of its time to deadline has passed (0 < f < 1). */
  MESH_APPROVAL_ESCALATE_AT: z.coerce.number().gt(0).lt(1).default(0.5),
  /** How often the deadline job runs (one replica at a time, under an advisory lock). */
  MESH_DEADLINE_SWEEP_INTERVAL: env.duration('1s'),

  /**
   * Re-delivery sweep (docs/operations.md): a task still `submitted` this long after its creation
   * (or its last copy) has its inbox delivery published again under the same message id, at most
   * MESH_REDELIVER_MAX_ATTEMPTS stored copies per task (0 turns the sweep off). Below the inbox
   * stream's duplicate window (10m) a copy of a message the stream still holds is dropped.
   */
  MESH_REDELIVER_AFTER: env.duration('2m'),
  MESH_REDELIVER_MAX_ATTEMPTS: env.int(3, 0),
  MESH_REDELIVER_INTERVAL: env.duration('30s'),
  MESH_REDELIVER_BATCH_SIZE: env.int(200, 1),

  /** Per-sender token bucket on creates: sustained rate and burst. */
  MESH_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().default(50),
  MESH_RATE_LIMIT_BURST: env.int(100, 1),
  /** Largest input / details / message, as UTF-8 JSON. */
  MESH_MAX_PAYLOAD_BYTES: env.int(64 * 1024, 1),
  /** Policy answers are cached this long (and dropped at once on registry events). */
  MESH_POLICY_CACHE_TTL: env.duration('5m'),
  /**
   * Publish a write's events and deliveries right after it commits (the outbox relay stays the
   * guarantee and publishes whatever this misses). Off: only the relay publishes.
   */
  MESH_EAGER_PUBLISH: env.bool(true),
  /**
   * Group commit: creates and updates that arrive while earlier writes are in flight are written
   * together, at most this many per statement, with at most MESH_WRITE_BATCHES_IN_FLIGHT
   * statements at once (each holds one pooled connection). An idle router writes each at once.
   */
  MESH_WRITE_BATCH_SIZE: env.int(64, 1),
  MESH_WRITE_BATCHES_IN_FLIGHT: env.int(4, 1),
  /**
   * The batched statements go through a pool of their own whose connections plan them generically
   * (plan_cache_mode=force_generic_plan, ADR 0025): planned once per connection instead of at each
   * execution, which took 0.2–0.5 ms of Postgres CPU per statement. Off: they share the router's
   * pool and Postgres chooses (it re-plans them each time).
   */
  MESH_WRITE_GENERIC_PLANS: env.bool(true),
  /**
   * Pack, then spread (ADR 0024): the replica holding the packing lock serves each RPC with
   * MESH_RPC_PACKING_WEIGHT queue-group members (the others with one), so it takes nearly every
   * request until its CPU passes MESH_RPC_SPREAD_CPU of a core; then the load spreads evenly. A
   * replica that does not pack learns the others' task events only while it takes at least
   * MESH_RPC_LEARN_ABOVE requests a second. Off: every replica one member, an even split.
   */
  MESH_RPC_PACKING: env.bool(true),
  MESH_RPC_PACKING_WEIGHT: env.int(1024, 1),
  MESH_RPC_SPREAD_CPU: z.coerce.number().gt(0).default(0.85),
  MESH_RPC_LEARN_ABOVE: z.coerce.number().min(0).default(200),
  MESH_RPC_PACKING_INTERVAL: env.duration('1s'),
  /** How long a resolve-policy / get-manager request to the registry may take. */
  MESH_REGISTRY_TIMEOUT: env.duration('2s'),

  /**
   * Retention (docs/operations.md): terminal tasks, approvals and notifications, with their history
   * and idempotency records, are deleted this long after they ended; 0 keeps them.
   */
  MESH_TASK_RETENTION: env.duration('30d'),
  /** Idempotency records are kept this long (a retry after that is a new request); 0 keeps them. */
  MESH_IDEMPOTENCY_RETENTION: env.duration('7d'),
  /** How often the retention job runs (one replica at a time, under an advisory lock), and rows per batch. */
  MESH_RETENTION_INTERVAL: env.duration('10m'),
  MESH_RETENTION_BATCH_SIZE: env.int(1000, 1),
  /** Rest between two retention batches, so a backlog is worked off without starving live writes. */
  MESH_RETENTION_BATCH_PAUSE: env.duration('50ms'),
  /** PROCESSED_EVENTS_RETENTION and OUTBOX_RETENTION, read alike by every service with a schema. */
  ...MESSAGING_RETENTION_ENV,
});
export type MeshRouterConfig = z.infer<typeof MeshRouterConfigSchema>;

export function loadMeshRouterConfig(
  source: Record<string, string | undefined> = process.env,
): MeshRouterConfig {
  return parseConfig('mesh-router', MeshRouterConfigSchema, source);
}
