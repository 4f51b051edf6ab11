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
import { AppError, GetAgent } from '@orgmesh/contracts';
import {
  createLogger,
  createMetricsRegistry,
  startHealthServer,
  type HealthServer,
  type Logger,
} from '@orgmesh/telemetry';
import { connectWhenReachable, meshConnection } from '../mesh-connection.js';
import { attachA2ABridge } from './a2a-bridge.js';
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
  // The gateway may come up after the bridge: waited for as the reference agents wait (up to a minute).
  const agent = await connectWhenReachable(logger, () =>
    MeshAgent.connect({
      ...meshConnection(config, options.tokens, logger),
      // No config hash: a remote agent runs no rendered config, so it sends no heartbeats (ADR 0021).
      concurrency: config.AGENT_CONCURRENCY,
      maxDeliver: config.AGENT_MAX_DELIVER,
      shutdownGraceMs: config.AGENT_SHUTDOWN_GRACE,
    }),
  );
  try {
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
    const verified = await fetchVerifiedAgentCard(registered.a2a.cardUrl, {
      timeoutMs: config.A2A_CARD_TIMEOUT,
      ...(registered.a2a.jwksUrl ? { jwksUrl: registered.a2a.jwksUrl } : {}),
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
    });
    await agent.start();
    const health = await startHealthServer({
      host: config.AGENTS_HTTP_HOST,
      port: config.AGENTS_HTTP_PORT,
      registry: createMetricsRegistry('remote-agent'),
      checks: {
        nats: () => agent.bus.ping(),
        token: async () => void (await agent.tokens.current()),
      },
    });
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
        await agent.stop();
        await health.close();
      },
    };
  } catch (error) {
    await agent.stop();
    throw error;
  }
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
