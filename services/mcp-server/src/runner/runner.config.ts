import { z } from 'zod';
import { env, natsEnv, parseConfig } from '@orgmesh/config';
import { OIDC_CLIENT_ENV, type OidcClientEnv } from '@orgmesh/agent-sdk';

const optional = env.optionalString();

/**
 * The only place the runner and the `orgmesh sessions` commands read their environment (handed in
 * by the CLI as `io.env`). The URL names match the registry's render endpoints (ORGMESH_GATEWAY_URL,
 * ORGMESH_PRIVACY_PROXY_URL), with the services' names as fallbacks.
 */
export const RunnerConfigSchema = z.object({
  ...natsEnv,
  ORGMESH_GATEWAY_URL: optional,
  GATEWAY_URL: optional,
  ORGMESH_PRIVACY_PROXY_URL: optional,
  PRIVACY_PROXY_URL: optional,
  /** The agent's client id (default: the agent id) and secret (default in dev: `<client-id>-dev-secret`). */
  ORGMESH_CLIENT_ID: optional,
  ORGMESH_CLIENT_SECRET: optional,
  /** Open runner sessions one agent may have at once. */
  ORGMESH_MAX_SESSIONS: env.int(1, 1),
  /** Where workspaces go when --workspace is not given: `<dir>/<agent-id>`. */
  ORGMESH_WORKSPACES_DIR: z.string().min(1).default('.orgmesh/workspaces'),
  ORGMESH_HEARTBEAT_INTERVAL: env.duration('10s'),
  /** Between SIGTERM and SIGKILL when the runner stops a command. */
  ORGMESH_KILL_GRACE: env.duration('10s'),
  /** The default watchdog (`--timeout`); 0 disables it. */
  ORGMESH_AGENT_TIMEOUT: env.duration('30m'),
  ORGMESH_RPC_TIMEOUT: env.duration('5s'),
  /** How long to wait for NATS before giving up with a message. */
  ORGMESH_CONNECT_TIMEOUT: env.duration('5s'),
  /** ORGMESH_OIDC_*: the agent's tokens from an OpenID provider instead of the gateway's dev issuer. */
  ...OIDC_CLIENT_ENV,
});

export interface RunnerConfig {
  readonly natsUrl: string;
  /** The runner identity's NKey seed on a secured bus; unset: anonymous. */
  readonly nkeySeedFile: string | undefined;
  /** The CA of the NATS servers' TLS certificate (NATS_TLS_CA_FILE). */
  readonly tlsCaFile: string | undefined;
  readonly subjectPrefix: string;
  readonly nameSuffix: string;
  readonly gatewayUrl: string;
  readonly privacyProxyUrl: string;
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
  readonly maxSessions: number;
  readonly workspacesDir: string;
  readonly heartbeatIntervalMs: number;
  readonly killGraceMs: number;
  readonly timeoutMs: number;
  readonly rpcTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** The ORGMESH_OIDC_* keys, parsed; turned into settings once the agent (the default client id) is known. */
  readonly oidc: OidcClientEnv;
}

export function loadRunnerConfig(source: Readonly<Record<string, string | undefined>>): RunnerConfig {
  const raw = parseConfig('orgmesh', RunnerConfigSchema, { ...source });
  return {
    natsUrl: raw.NATS_URL,
    nkeySeedFile: raw.NATS_NKEY_SEED_FILE,
    tlsCaFile: raw.NATS_TLS_CA_FILE,
    subjectPrefix: raw.NATS_SUBJECT_PREFIX,
    nameSuffix: raw.NATS_NAME_SUFFIX,
    gatewayUrl: (raw.ORGMESH_GATEWAY_URL ?? raw.GATEWAY_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''),
    privacyProxyUrl: (
      raw.ORGMESH_PRIVACY_PROXY_URL ??
      raw.PRIVACY_PROXY_URL ??
      'http://127.0.0.1:8090'
    ).replace(/\/+$/, ''),
    clientId: raw.ORGMESH_CLIENT_ID,
    clientSecret: raw.ORGMESH_CLIENT_SECRET,
    maxSessions: raw.ORGMESH_MAX_SESSIONS,
    workspacesDir: raw.ORGMESH_WORKSPACES_DIR,
    heartbeatIntervalMs: raw.ORGMESH_HEARTBEAT_INTERVAL,
    killGraceMs: raw.ORGMESH_KILL_GRACE,
    timeoutMs: raw.ORGMESH_AGENT_TIMEOUT,
    rpcTimeoutMs: raw.ORGMESH_RPC_TIMEOUT,
    connectTimeoutMs: raw.ORGMESH_CONNECT_TIMEOUT,
    oidc: Object.fromEntries(
      Object.keys(OIDC_CLIENT_ENV).map((key) => [key, raw[key as keyof OidcClientEnv]]),
    ) as OidcClientEnv,
  };
}
