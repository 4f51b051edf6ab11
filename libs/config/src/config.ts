import { z } from 'zod';
import { databaseUrlWithoutEnv } from './database-url.js';

/** Thrown when the environment does not satisfy a service's schema. Names keys, never values. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly service: string,
    readonly problems: Array<{ key: string; reason: string }>,
  ) {
    super(`${service}: invalid configuration: ${problems.map((p) => `${p.key} (${p.reason})`).join('; ')}`);
  }
}

/**
 * Parses a service's environment once, at startup. The message of a failure lists each bad key with
 * the kind of problem; values are never echoed because they may be secrets.
 */
export function parseConfig<S extends z.ZodType>(
  service: string,
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({
    key: issue.path.map(String).join('.') || '(root)',
    reason: issue.code === 'invalid_type' && issue.input === undefined ? 'required' : describe(issue),
  }));
  throw new ConfigError(service, problems);
}

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map(String).join('|')}`;
    case 'too_small':
      return `below minimum ${String(issue.minimum)}`;
    case 'too_big':
      return `above maximum ${String(issue.maximum)}`;
    case 'invalid_format':
      return `expected ${issue.format}`;
    default:
      return issue.code;
  }
}

/** Building blocks shared by service schemas. */
export const env = {
  /** An optional string; unset, empty and blank all mean unset (a compose file's `KEY=` is not a value). */
  optionalString: () =>
    z
      .string()
      .optional()
      .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim())),
  natsUrl: () => z.string().regex(/^(nats|tls|ws|wss):\/\//, 'nats url').default('nats://127.0.0.1:4222'),
  /**
   * DATABASE_URL; unset, the URL a running `npm start` wrote to .orgmesh/database-url, else the 5432
   * default (resolveDatabaseUrl). prefault, not default: the file's content is validated like a value.
   */
  databaseUrl: () =>
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'postgres url')
      .prefault(() => databaseUrlWithoutEnv().url),
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  int: (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Durations like `500ms`, `30s`, `15m`, `2h`, `1d` (a unit is required; see parseDuration). */
  duration: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .transform((value, ctx) => {
        const ms = parseDuration(value);
        if (ms === undefined) {
          ctx.addIssue({
            code: 'custom',
            message: 'expected a duration with a unit, like 500ms, 30s, 15m, 2h (a bare number other than 0 is refused)',
          });
          return z.NEVER;
        }
        return ms;
      }),
  /** Optional subject prefix / name suffix that isolate a deployment or a test run on a shared NATS. */
  subjectPrefix: () => z.string().regex(/^([a-z0-9_-]+\.)?$/).default(''),
};

/**
 * The NATS TLS key every process's schema spreads in (`...natsTlsEnv`), so its name and meaning are
 * written once. `NATS_TLS_CA_FILE`: the PEM CA bundle that signed the NATS servers' certificate
 * (cert-manager's `ca.crt`). Set, the connection requires TLS and trusts only that CA; unset, a
 * `tls://` NATS_URL still requires TLS, verified against the system CAs. Clients do not present a
 * certificate: each already proves its identity with its NKey (ADR 0011).
 */
export const natsTlsEnv = {
  NATS_TLS_CA_FILE: env.optionalString(),
};

/**
 * The bus keys of every process that connects to NATS, spread into its schema (`...natsEnv`) so they
 * are written once: NATS_URL; NATS_NKEY_SEED_FILE, this process's NKey seed file (`orgmesh
 * nats-config`, ADR 0011; unset: anonymous); NATS_TLS_CA_FILE (natsTlsEnv); NATS_SUBJECT_PREFIX and
 * NATS_NAME_SUFFIX, which isolate a deployment or a test run on a shared NATS; NATS_STREAM_REPLICAS,
 * the JetStream replicas of the streams the process creates (1–5, default 1; 3 on a 3-node cluster,
 * as the production overlay sets it). A stream with fewer replicas is raised to it, never lowered:
 * a process left at the default cannot shrink a stream another one made durable.
 */
export const natsEnv = {
  NATS_URL: env.natsUrl(),
  NATS_NKEY_SEED_FILE: env.optionalString(),
  ...natsTlsEnv,
  NATS_SUBJECT_PREFIX: env.subjectPrefix(),
  NATS_NAME_SUFFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/)
    .default(''),
  NATS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
};

/**
 * Logging and trace export keys of every process (`...telemetryEnv`): LOG_LEVEL;
 * OTEL_EXPORTER_OTLP_ENDPOINT, the OTLP/HTTP collector base URL (spans go to `<url>/v1/traces`;
 * unset: spans are not exported); OTEL_SERVICE_NAME, the `service.name` of its spans (default: the
 * process's own name).
 */
export const telemetryEnv = {
  LOG_LEVEL: env.logLevel(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
};

/**
 * MIGRATE_ON_START of the stateful services (`...migrateEnv`): `true` applies the service's pending
 * migrations before its pool opens (dev, compose); unset or `false`: a migration job does it
 * (deploy/k8s/base/migrate-job.yaml). Any other value is refused rather than read as `false`, so a
 * typo does not silently skip migrations.
 */
export const migrateEnv = {
  MIGRATE_ON_START: env.bool(false),
};

/** The Postgres keys of the stateful services (`...databaseEnv`). */
export const databaseEnv = {
  DATABASE_URL: env.databaseUrl(),
  DATABASE_POOL_SIZE: env.int(10, 1),
};

/**
 * The keys every stateful service (sessions, mesh-router, registry) reads alike, spread into its
 * schema (`...storeServiceEnv`): the bus (natsEnv), its Postgres (databaseEnv), MIGRATE_ON_START
 * (migrateEnv) and logging and trace export (telemetryEnv). What service-host opens from them is
 * described by its ServiceHostConfig.
 */
export const storeServiceEnv = {
  ...natsEnv,
  ...databaseEnv,
  ...migrateEnv,
  ...telemetryEnv,
};

/** The zod schema of a `<PREFIX>_HTTP_PORT` key: a TCP port, `fallback` unless set. */
type PortKey = ReturnType<typeof env.port>;
/** The zod schema of a `<PREFIX>_HTTP_HOST` key: a non-empty address, loopback unless set. */
type HostKey = z.ZodDefault<z.ZodString>;

/** `<PREFIX>_HTTP_PORT` and `<PREFIX>_HTTP_HOST`, as httpListenEnv spreads them into a schema. */
export type HttpListenEnv<P extends string> = { [K in `${P}_HTTP_PORT`]: PortKey } & {
  [K in `${P}_HTTP_HOST`]: HostKey;
};

/**
 * The HTTP port a process listens on (its API, or its health and metrics port), spread into its
 * schema (`...httpListenEnv('MESH', 8103)`): `<PREFIX>_HTTP_PORT`, `port` unless set, and
 * `<PREFIX>_HTTP_HOST`, the address it binds: loopback unless set, so a process started from a
 * checkout is not reachable from the network; containers set 0.0.0.0 (ADR 0010).
 */
export function httpListenEnv<P extends string>(prefix: P, port: number): HttpListenEnv<P> {
  const host: HostKey = z.string().min(1).default('127.0.0.1');
  return { [`${prefix}_HTTP_PORT`]: env.port(port), [`${prefix}_HTTP_HOST`]: host } as HttpListenEnv<P>;
}

/**
 * `500ms`, `30s`, `15m`, `2h`, `1d`; `0` alone means zero. Any other number without a unit is
 * refused: `SESSION_IDLE_TIMEOUT=1800` or `--timeout 5` meant seconds to the person who wrote it and
 * milliseconds to the code that read it, so neither reading is safe to guess (issue 20).
 */
export function parseDuration(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(value.trim());
  if (!match?.[1]) return undefined;
  const n = Number(match[1]);
  if (match[2] === undefined && n !== 0) return undefined;
  const unit = match[2] ?? 'ms';
  const factor = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(n * factor);
}
