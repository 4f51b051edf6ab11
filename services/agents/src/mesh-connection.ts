import {
  MeshAgent,
  OidcTokenSource,
  type AccessTokenSource,
  type MeshAgentOptions,
  type oidcClientSettings,
} from '@orgmesh/agent-sdk';
import { startHealthServer, type HealthServer, type Logger } from '@orgmesh/telemetry';
import type { Registry } from 'prom-client';

/** The config keys both agent processes (reference agents, remote A2A bridges) connect with. */
export interface MeshConnectionConfig {
  NATS_URL: string;
  NATS_NKEY_SEED_FILE?: string | undefined;
  NATS_TLS_CA_FILE?: string | undefined;
  NATS_SUBJECT_PREFIX: string;
  NATS_NAME_SUFFIX: string;
  GATEWAY_URL: string;
  AGENT_ID: string;
  AGENT_CLIENT_SECRET: string;
  oidc?: ReturnType<typeof oidcClientSettings>;
}

/**
 * Where an agent process connects and how it obtains its token: `tokens` when given (tests), the
 * OpenID provider when configured (production, renewed ahead of expiry: ORGMESH_OIDC_*), else the
 * gateway's client credentials (dev issuer).
 */
export function meshConnection(
  config: MeshConnectionConfig,
  tokens: AccessTokenSource | undefined,
  logger: Logger,
): Pick<
  MeshAgentOptions,
  | 'natsUrl'
  | 'nkeySeedFile'
  | 'tlsCaFile'
  | 'subjectPrefix'
  | 'nameSuffix'
  | 'credentials'
  | 'agentId'
  | 'logger'
> {
  return {
    natsUrl: config.NATS_URL,
    ...(config.NATS_NKEY_SEED_FILE ? { nkeySeedFile: config.NATS_NKEY_SEED_FILE } : {}),
    ...(config.NATS_TLS_CA_FILE ? { tlsCaFile: config.NATS_TLS_CA_FILE } : {}),
    subjectPrefix: config.NATS_SUBJECT_PREFIX,
    nameSuffix: config.NATS_NAME_SUFFIX,
    credentials: tokens
      ? { tokens }
      : config.oidc
        ? { tokens: new OidcTokenSource({ ...config.oidc, logger }) }
        : {
            gatewayUrl: config.GATEWAY_URL,
            clientId: config.AGENT_ID,
            clientSecret: config.AGENT_CLIENT_SECRET,
          },
    agentId: config.AGENT_ID,
    logger,
  };
}

/**
 * The gateway may come up after the agent (Kubernetes starts pods in any order): an unreachable
 * token endpoint is waited for, with backoff, for up to a minute. Refused credentials fail at once.
 */
export async function connectWhenReachable(
  logger: Logger,
  connect: () => Promise<MeshAgent>,
  timeoutMs = 60_000,
): Promise<MeshAgent> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if ((code !== 'unavailable' && code !== 'timeout') || Date.now() > deadline) throw error;
      if (attempt === 1) logger.warn({ code }, 'gateway not reachable yet; waiting for it');
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** attempt)));
    }
  }
}

/** Where an agent process serves `/healthz`, `/readyz` and `/metrics`. */
export interface AgentHealthConfig {
  AGENTS_HTTP_HOST: string;
  AGENTS_HTTP_PORT: number;
}

/**
 * The health port of an agent process (reference agent or remote A2A bridge): ready while its bus
 * answers a ping and its token can be had, with the process's metrics.
 */
export function startAgentHealth(
  agent: MeshAgent,
  config: AgentHealthConfig,
  registry: Registry,
): Promise<HealthServer> {
  return startHealthServer({
    host: config.AGENTS_HTTP_HOST,
    port: config.AGENTS_HTTP_PORT,
    registry,
    checks: {
      nats: () => agent.bus.ping(),
      token: async () => void (await agent.tokens.current()),
    },
  });
}
