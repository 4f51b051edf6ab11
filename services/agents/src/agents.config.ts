import { z } from 'zod';
import { ConfigError, env, httpListenEnv, natsEnv, parseConfig, telemetryEnv } from '@orgmesh/config';
import { OIDC_CLIENT_ENV, oidcClientSettings } from '@orgmesh/agent-sdk';

export const AGENT_ROLES = ['finance', 'manager', 'legal'] as const;
export type AgentRole = (typeof AGENT_ROLES)[number];

const kebab = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const optionalString = env.optionalString();

/**
 * The only place a reference agent reads its environment. One process per role; the agent id and
 * the client secret default to the demo registry's `<role>-agent` and its documented dev secret
 * (`<agent-id>-dev-secret`), which only the gateway's dev mode accepts.
 */
export const AgentsConfigSchema = z
  .object({
    AGENT_ROLE: z.enum(AGENT_ROLES),
    /** The agent's id (its client id at the gateway and the token's subject); default `<role>-agent`. */
    AGENT_ID: optionalString.refine((v) => v === undefined || kebab.test(v), {
      message: 'expected a kebab-case agent id',
    }),
    /** Client secret for the gateway's token endpoint; default (dev mode only): `<agent-id>-dev-secret`. */
    AGENT_CLIENT_SECRET: optionalString,
    GATEWAY_URL: z.url().default('http://127.0.0.1:8080'),
    /** The privacy proxy: every model call of the agent goes through it. */
    PRIVACY_PROXY_URL: z.url().default('http://127.0.0.1:8090'),
    /** Model name sent to the proxy; default: the model the registry declares for the agent (gpt-4o-mini). */
    AGENT_MODEL: optionalString,
    /** Ask the model for SSE streaming (tool-call deltas are assembled). */
    AGENT_LLM_STREAM: env.bool(true),
    AGENT_LLM_TIMEOUT: env.duration('120s'),
    /** Model turns per task before the agent gives up on it. */
    AGENT_MAX_STEPS: env.int(12, 1),
    /** Longest a `fetch_status` tool call may wait for a task to end. */
    AGENT_MAX_WAIT: env.duration('5m'),
    AGENT_CONCURRENCY: env.int(4, 1),
    AGENT_HEARTBEAT_INTERVAL: env.duration('15s'),
    AGENT_SHUTDOWN_GRACE: env.duration('10s'),
    /** Health and metrics port (`/healthz`, `/readyz`, `/metrics`), loopback unless AGENTS_HTTP_HOST is set. */
    ...httpListenEnv('AGENTS', 8104),
    ...natsEnv,
    ...telemetryEnv,
    /** ORGMESH_OIDC_*: the agent's tokens from an OpenID provider (production) instead of the gateway's dev issuer. */
    ...OIDC_CLIENT_ENV,
  })
  .transform((config) => {
    const agentId = config.AGENT_ID ?? `${config.AGENT_ROLE}-agent`;
    const problems: Array<{ key: string; reason: string }> = [];
    const oidc = oidcClientSettings(config, agentId, problems);
    if (problems.length) throw new ConfigError('agents', problems);
    return {
      ...config,
      oidc,
      AGENT_ID: agentId,
      AGENT_CLIENT_SECRET: config.AGENT_CLIENT_SECRET ?? `${agentId}-dev-secret`,
      devSecret: config.AGENT_CLIENT_SECRET === undefined && oidc === undefined,
    };
  });
export type AgentsConfig = z.infer<typeof AgentsConfigSchema>;

export function loadAgentsConfig(source: Record<string, string | undefined> = process.env): AgentsConfig {
  return parseConfig('agents', AgentsConfigSchema, source);
}
