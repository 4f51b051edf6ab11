import { MeshAgent, OidcTokenSource, type AccessTokenSource } from '@orgmesh/agent-sdk';
import {
  createLogger,
  createMetricsRegistry,
  startHealthServer,
  type HealthServer,
  type Logger,
} from '@orgmesh/telemetry';
import type { AgentsConfig } from './agents.config.js';
import { AgentConfigSource } from './agent/agent.config-source.js';
import { AgentMetrics } from './agent/agent.metrics.js';
import { attachAgentRuntime } from './agent/agent.runtime.js';
import { ROLE_DEFINITIONS } from './roles/role.definitions.js';

export interface AgentsApp {
  readonly agent: MeshAgent;
  readonly health: HealthServer;
  close(): Promise<void>;
}

export interface AgentsAppOptions {
  logger?: Logger;
  /** Replaces the gateway's client credentials (tests). */
  tokens?: AccessTokenSource;
}

/**
 * One reference agent process: its identity from the gateway, its configuration from the registry
 * (built-in until the registry renders one), the SDK consuming its inboxes, a model conversation
 * per delivery through the privacy proxy, and the health port.
 */
export async function startAgentsApp(
  config: AgentsConfig,
  options: AgentsAppOptions = {},
): Promise<AgentsApp> {
  const logger =
    options.logger ?? createLogger({ service: `agent-${config.AGENT_ROLE}`, level: config.LOG_LEVEL });
  const definition = ROLE_DEFINITIONS[config.AGENT_ROLE];
  const configSource = new AgentConfigSource(definition, config.AGENT_ID, config.AGENT_MODEL, logger);
  const agent = await connectWhenReachable(logger, () =>
    MeshAgent.connect({
      natsUrl: config.NATS_URL,
      ...(config.NATS_NKEY_SEED_FILE ? { nkeySeedFile: config.NATS_NKEY_SEED_FILE } : {}),
      ...(config.NATS_TLS_CA_FILE ? { tlsCaFile: config.NATS_TLS_CA_FILE } : {}),
      subjectPrefix: config.NATS_SUBJECT_PREFIX,
      nameSuffix: config.NATS_NAME_SUFFIX,
      credentials: options.tokens
        ? { tokens: options.tokens }
        : config.oidc
          ? // Production: the OpenID provider, renewed ahead of expiry (ORGMESH_OIDC_*).
            { tokens: new OidcTokenSource({ ...config.oidc, logger }) }
          : {
              gatewayUrl: config.GATEWAY_URL,
              clientId: config.AGENT_ID,
              clientSecret: config.AGENT_CLIENT_SECRET,
            },
      agentId: config.AGENT_ID,
      // Format omitted: the registry matches the hash against every format it renders for the agent.
      configHash: async () => configSource.current.configHash,
      heartbeatIntervalMs: config.AGENT_HEARTBEAT_INTERVAL,
      concurrency: config.AGENT_CONCURRENCY,
      shutdownGraceMs: config.AGENT_SHUTDOWN_GRACE,
      logger,
    }),
  );
  if (agent.role !== config.AGENT_ROLE) {
    await agent.stop();
    throw new Error(`agent ${config.AGENT_ID} has role ${agent.role} in its token, not ${config.AGENT_ROLE}`);
  }
  await configSource.start(agent);

  const registry = createMetricsRegistry(`agent-${config.AGENT_ROLE}`);
  const metrics = new AgentMetrics(registry);
  const llm = agent.llm({
    baseUrl: config.PRIVACY_PROXY_URL,
    model: configSource.current.model,
    stream: config.AGENT_LLM_STREAM,
    timeoutMs: config.AGENT_LLM_TIMEOUT,
  });
  attachAgentRuntime({
    agent,
    config: configSource,
    chat: (request) => llm.chat(request),
    maxSteps: config.AGENT_MAX_STEPS,
    maxWaitMs: config.AGENT_MAX_WAIT,
    logger,
    metrics,
  });
  await agent.start();

  const health = await startHealthServer({
    host: config.AGENTS_HTTP_HOST,
    port: config.AGENTS_HTTP_PORT,
    registry,
    checks: {
      nats: () => agent.bus.ping(),
      token: async () => void (await agent.tokens.current()),
    },
  });
  logger.info(
    {
      agentId: agent.agentId,
      role: agent.role,
      healthPort: health.port,
      config: configSource.current.source,
      model: configSource.current.model,
      devSecret: config.devSecret,
    },
    'agent started',
  );
  return {
    agent,
    health,
    async close() {
      configSource.stop();
      await agent.stop();
      await health.close();
    },
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
