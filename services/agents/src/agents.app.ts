import { MeshAgent, type AccessTokenSource } from '@orgmesh/agent-sdk';
import { createLogger, createMetricsRegistry, type HealthServer, type Logger } from '@orgmesh/telemetry';
import type { AgentsConfig } from './agents.config.js';
import { connectWhenReachable, meshConnection, startAgentHealth } from './mesh-connection.js';

export { connectWhenReachable } from './mesh-connection.js';
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
      ...meshConnection(config, options.tokens, logger),
      // Format omitted: the registry matches the hash against every format it renders for the agent.
      configHash: async () => configSource.current.configHash,
      heartbeatIntervalMs: config.AGENT_HEARTBEAT_INTERVAL,
      concurrency: config.AGENT_CONCURRENCY,
      shutdownGraceMs: config.AGENT_SHUTDOWN_GRACE,
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

  const health = await startAgentHealth(agent, config, registry);
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
