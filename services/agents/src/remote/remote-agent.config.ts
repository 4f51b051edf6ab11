import { z } from 'zod';
import { ConfigError, env, natsEnv, parseConfig, telemetryEnv } from '@orgmesh/config';
import { OIDC_CLIENT_ENV, oidcClientSettings } from '@orgmesh/agent-sdk';

const kebab = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/**
 * The only place the remote-agent bridge reads its environment (ADR 0021). One process per remote
 * A2A agent of the registry: `AGENT_ID` names it; its card URL (and pinned JWKS) come from the
 * registry, which verified them when it loaded the agent, and are verified again here at start.
 */
export const RemoteAgentConfigSchema = z
  .object({
    /** The registry's id of the remote agent (an agent with `a2a: {card_url}`); its client id at the gateway. */
    AGENT_ID: z.string().regex(kebab, { message: 'expected a kebab-case agent id' }),
    /** Client secret for the gateway's token endpoint; default (dev mode only): `<agent-id>-dev-secret`. */
    AGENT_CLIENT_SECRET: env.optionalString(),
    GATEWAY_URL: z.url().default('http://127.0.0.1:8080'),
    /**
     * A secret: the `Authorization` header value sent on every call to the remote agent (its card's
     * security scheme, e.g. `Bearer <token>`); unset: none. Never logged.
     */
    A2A_AUTHORIZATION: env.optionalString(),
    /** Longest wait for the card (and its key set) at start. */
    A2A_CARD_TIMEOUT: env.duration('5s'),
    /** Longest a remote task may run, when the mesh task's deadline is later. */
    A2A_MAX_CALL: env.duration('10m'),
    /** Poll interval for a remote agent that does not stream. */
    A2A_POLL_INTERVAL: env.duration('500ms'),
    /** How often the remote agent's card is asked for, to know whether it is there (heartbeats stop when not). */
    A2A_LIVENESS_INTERVAL: env.duration('10s'),
    /** How long that ask may take before the remote agent counts as not answering. */
    A2A_LIVENESS_TIMEOUT: env.duration('3s'),
    /** Longest wait for the privacy proxy to mask a task input or restore an answer. */
    A2A_PRIVACY_TIMEOUT: env.duration('10s'),
    /** Heartbeat period while the remote agent answers; shortened to a third of the registry's offline timeout. */
    AGENT_HEARTBEAT_INTERVAL: env.duration('15s'),
    AGENT_CONCURRENCY: env.int(4, 1),
    /** Deliveries of a task while the remote agent cannot be reached; the last one fails the task. */
    AGENT_MAX_DELIVER: env.int(10, 1),
    AGENT_SHUTDOWN_GRACE: env.duration('10s'),
    /** Health and metrics port (`/healthz`, `/readyz`, `/metrics`). */
    AGENTS_HTTP_PORT: env.port(8105),
    /** Address the health port binds: loopback unless set; containers set 0.0.0.0 (ADR 0010). */
    AGENTS_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
    ...natsEnv,
    ...telemetryEnv,
    /** ORGMESH_OIDC_*: the bridge's tokens from an OpenID provider (production) instead of the gateway's dev issuer. */
    ...OIDC_CLIENT_ENV,
  })
  .transform((config) => {
    const problems: Array<{ key: string; reason: string }> = [];
    const oidc = oidcClientSettings(config, config.AGENT_ID, problems);
    if (problems.length) throw new ConfigError('remote-agent', problems);
    return {
      ...config,
      oidc,
      AGENT_CLIENT_SECRET: config.AGENT_CLIENT_SECRET ?? `${config.AGENT_ID}-dev-secret`,
      devSecret: config.AGENT_CLIENT_SECRET === undefined && oidc === undefined,
    };
  });
export type RemoteAgentConfig = z.infer<typeof RemoteAgentConfigSchema>;

export function loadRemoteAgentConfig(
  source: Record<string, string | undefined> = process.env,
): RemoteAgentConfig {
  return parseConfig('remote-agent', RemoteAgentConfigSchema, source);
}
