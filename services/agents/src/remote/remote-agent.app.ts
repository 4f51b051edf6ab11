import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  RestTransportFactory,
  type Client,
} from '@a2a-js/sdk/client';
import { MeshAgent, type AccessTokenSource } from '@orgmesh/agent-sdk';
import { fetchVerifiedAgentCard } from '@orgmesh/auth';
import { AppError, GetAgent, RenderConfig } from '@orgmesh/contracts';
import { createLogger, createMetricsRegistry, type HealthServer, type Logger } from '@orgmesh/telemetry';
import { connectWhenReachable, meshConnection, startAgentHealth } from '../mesh-connection.js';
import { attachA2ABridge } from './a2a-bridge.js';
import { RemotePresence } from './remote-presence.js';
import { RemotePrivacy } from './remote-privacy.js';
import type { RemoteAgentConfig } from './remote-agent.config.js';

export interface RemoteAgentApp {
  readonly agent: MeshAgent;
  readonly health: HealthServer;
  /** The remote agent's card name, and whether its card was signed (and verified). */
  readonly card: { name: string; signature: 'signed' | 'unsigned' };
  close(): Promise<void>;
}

export interface RemoteAgentAppOptions {
  logger?: Logger;
  /** Replaces the gateway's client credentials (tests). */
  tokens?: AccessTokenSource;
  /** The fetch the card, its keys and the A2A client use (tests, proxies); default global fetch. */
  fetchImpl?: typeof fetch;
}

/**
 * One remote A2A agent on the mesh (ADR 0021): the bridge connects as the registry's agent, reads
 * its card URL from the registry, fetches and verifies the card (refusing to start if it does not
 * answer or its signature fails, as the registry refused to load it), builds the official A2A client
 * from it, and takes the agent's tasks from the mesh.
 */
export async function startRemoteAgentApp(
  config: RemoteAgentConfig,
  options: RemoteAgentAppOptions = {},
): Promise<RemoteAgentApp> {
  const logger = options.logger ?? createLogger({ service: 'remote-agent', level: config.LOG_LEVEL });
  // Set once the card is verified: heartbeats go out only while the remote agent answers (ADR 0021).
  const heartbeat: { hash?: () => string | undefined } = {};
  const agent = await connectBridgeAgent(config, options, logger, () => heartbeat.hash?.());
  try {
    const a2a = await registeredA2A(agent, config);
    const { verified, agentName } = await bridgeVerifiedCard(agent, a2a, config, options, logger);
    const presence = new RemotePresence({
      agent,
      cardUrl: a2a.cardUrl,
      fetchImpl: options.fetchImpl ?? fetch,
      intervalMs: config.A2A_LIVENESS_INTERVAL,
      timeoutMs: config.A2A_LIVENESS_TIMEOUT,
      logger,
    });
    const declared = await declaredConfigHash(agent);
    heartbeat.hash = () => (presence.online ? declared : undefined);
    await agent.start();
    presence.start();
    const health = await startAgentHealth(agent, config, createMetricsRegistry('remote-agent'));
    // The card URL is the operator's configuration, not personal data; the signature outcome is the audit.
    logger.info(
      {
        agentId: agent.agentId,
        role: agent.role,
        card: agentName,
        signature: verified.signature,
        kid: verified.kid,
      },
      'remote A2A agent bridged',
    );
    return {
      agent,
      health,
      card: { name: agentName, signature: verified.signature },
      async close() {
        presence.stop();
        await agent.stop();
        await health.close();
      },
    };
  } catch (error) {
    await agent.stop();
    throw error;
  }
}

/**
 * The bridge's mesh connection, as the registry's agent. The gateway may come up after the
 * bridge: waited for as the reference agents wait (up to a minute). Its heartbeats carry
 * `configHash`, undefined (no heartbeat) until the card is verified and while the agent is down.
 */
function connectBridgeAgent(
  config: RemoteAgentConfig,
  options: RemoteAgentAppOptions,
  logger: Logger,
  configHash: () => string | undefined,
): Promise<MeshAgent> {
  return connectWhenReachable(logger, () =>
    MeshAgent.connect({
      ...meshConnection(config, options.tokens, logger),
      configHash: async () => configHash(),
      configFormat: HEARTBEAT_FORMAT,
      heartbeatIntervalMs: config.AGENT_HEARTBEAT_INTERVAL,
      concurrency: config.AGENT_CONCURRENCY,
      maxDeliver: config.AGENT_MAX_DELIVER,
      shutdownGraceMs: config.AGENT_SHUTDOWN_GRACE,
    }),
  );
}

/**
 * The agent's A2A declaration in the registry; refused (validation_failed) when the registry does
 * not declare it remote, or declares another role than its token carries.
 */
async function registeredA2A(
  agent: MeshAgent,
  config: RemoteAgentConfig,
): Promise<{ cardUrl: string; jwksUrl?: string | undefined }> {
  const { agent: registered } = await agent.bus.request(
    GetAgent,
    { agentId: config.AGENT_ID },
    { authorization: await agent.authorization(), timeoutMs: 5_000 },
  );
  if (!registered.a2a)
    throw new AppError(
      'validation_failed',
      `agent ${config.AGENT_ID} is not a remote A2A agent in the registry`,
    );
  if (registered.role !== agent.role)
    throw new AppError(
      'validation_failed',
      `agent ${config.AGENT_ID} has role ${agent.role} in its token, not ${registered.role}`,
    );
  return registered.a2a;
}

/**
 * Fetches and verifies the card (refusing an unanswered card or a failed signature), builds the
 * A2A client from it, and attaches the bridge that takes the agent's mesh tasks to that client.
 */
async function bridgeVerifiedCard(
  agent: MeshAgent,
  a2a: { cardUrl: string; jwksUrl?: string | undefined },
  config: RemoteAgentConfig,
  options: RemoteAgentAppOptions,
  logger: Logger,
): Promise<{ verified: Awaited<ReturnType<typeof fetchVerifiedAgentCard>>; agentName: string }> {
  const verified = await fetchVerifiedAgentCard(a2a.cardUrl, {
    timeoutMs: config.A2A_CARD_TIMEOUT,
    ...(a2a.jwksUrl ? { jwksUrl: a2a.jwksUrl } : {}),
    ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
  });
  const client = await clientFor(
    verified.card,
    withAuthorization(options.fetchImpl ?? fetch, config.A2A_AUTHORIZATION),
  );
  const agentName = typeof verified.card['name'] === 'string' ? verified.card['name'] : config.AGENT_ID;
  attachA2ABridge({
    agent,
    client,
    agentName,
    logger,
    maxCallMs: config.A2A_MAX_CALL,
    pollMs: config.A2A_POLL_INTERVAL,
    privacy: new RemotePrivacy(agent, agentName, config.A2A_PRIVACY_TIMEOUT),
  });
  return { verified, agentName };
}

/** The client format whose rendered config the bridge reports in its heartbeats. */
const HEARTBEAT_FORMAT = 'goose' as const;

/**
 * What the bridge's heartbeats report: the hash of the config the registry renders for the agent's
 * declaration as the bridge started. A remote agent runs no rendered config, but the bridge runs on
 * that declaration (role, card URL) until it restarts: a changed declaration shows as drift, which
 * says the bridge must be restarted to take it.
 */
async function declaredConfigHash(agent: MeshAgent): Promise<string> {
  const rendered = await agent.bus.request(
    RenderConfig,
    { agentId: agent.agentId, format: HEARTBEAT_FORMAT },
    { authorization: await agent.authorization(), timeoutMs: 5_000 },
  );
  return rendered.configHash;
}

/** The official client over the card's transports (JSON-RPC or HTTP+JSON), from the card already verified. */
async function clientFor(card: Record<string, unknown>, fetchImpl: typeof fetch): Promise<Client> {
  const resolver = new DefaultAgentCardResolver({ fetchImpl });
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl }), new RestTransportFactory({ fetchImpl })],
    }),
  );
  return factory.createFromAgentCard(resolver.normalizeAgentCard(card));
}

/**
 * The credentials the remote agent's security scheme asks for (`A2A_AUTHORIZATION`, e.g. `Bearer …`),
 * sent on every A2A call (not on the card, which the registry also reads without them).
 */
function withAuthorization(fetchImpl: typeof fetch, authorization: string | undefined): typeof fetch {
  if (!authorization) return fetchImpl;
  return (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', authorization);
    return fetchImpl(input, { ...init, headers });
  };
}
