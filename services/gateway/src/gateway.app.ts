import type { Registry } from 'prom-client';
import { busOptionsFromConfig, connectBus, type MessageBus } from '@orgmesh/messaging';
import { CloseStack } from '@orgmesh/service-host';
import type { ClientDefinition } from '@orgmesh/auth';
import { createLogger, createMetricsRegistry, TokenBucketLimiter, type Logger } from '@orgmesh/telemetry';
import type { GatewayConfig } from './gateway.config.js';
import { GatewayMetrics } from './gateway.metrics.js';
import { createIdentity, type GatewayIdentity } from './auth/identity.js';
import { createA2A, type A2AMount } from './a2a/a2a.routes.js';
import { devAuthRoutes } from './auth/auth.routes.js';
import { whoamiRoute } from './auth/whoami.route.js';
import { devSecretFor } from './auth/dev-clients.js';
import {
  createPeopleLogin,
  loadDevPeople,
  peopleLoginRoutes,
  type PeopleLogin,
  type PeopleOptions,
} from './auth/people-login.js';
import { ConsoleAssets, findConsoleDist } from './console/console-assets.js';
import { consoleRoutes } from './console/console.routes.js';
import { consoleSignIn } from './console/console-signin.js';
import { EventHub } from './events/event-hub.js';
import { eventsRoute, streamTicketsRoute } from './events/events.route.js';
import { StreamTickets } from './events/stream-ticket.js';
import { GatewayGrpcServer, findProtoDir } from './grpc/grpc.server.js';
import { GatewayHttpServer } from './http/http.server.js';
import { buildOpenApi } from './openapi/openapi.js';
import { renderDocsPage } from './openapi/docs-page.js';
import { RouteExecutor } from './routes/executor.js';
import { API_ROUTES } from './routes/index.js';
import type { Route } from './routes/route.js';

export const GATEWAY_API_VERSION = '1.0.0';

export interface GatewayApp {
  readonly bus: MessageBus;
  readonly identity: GatewayIdentity;
  /** People's sign-in at the built-in issuer (dev mode only): the console's login. */
  readonly login: PeopleLogin | undefined;
  /** Bound ports (the configured ones, or the ones the OS chose for port 0). */
  readonly httpPort: number;
  readonly grpcPort: number;
  /** `http://host:port`, for clients and tests. */
  readonly url: string;
  readonly routes: readonly Route[];
  readonly openapi: Record<string, unknown>;
  close(): Promise<void>;
}

export interface GatewayAppOptions {
  logger?: Logger;
  /** Replaces the dev clients (tests); dev mode only. */
  devClients?: ClientDefinition[];
  /** Where the .proto files are; found from the module location by default. */
  protoDir?: string;
  /** Replaces the org chart's people who may sign in, or fixes their passwords (tests); dev mode only. */
  people?: PeopleOptions;
  /** The console's build directory; found from the module location by default (console/dist). */
  consoleDir?: string;
}

/**
 * Starts the gateway: NATS bus, identity (built-in issuer or external OIDC), the REST/SSE server,
 * the gRPC server. No domain logic lives here: every operation is one or more RPCs to the owning
 * service, carrying the caller's JWT.
 */
export async function startGatewayApp(
  config: GatewayConfig,
  options: GatewayAppOptions = {},
): Promise<GatewayApp> {
  const logger = options.logger ?? createLogger({ service: 'gateway', level: config.LOG_LEVEL });
  const registry = createMetricsRegistry('gateway');
  const bus = await connectBus({
    ...busOptionsFromConfig(config),
    name: 'gateway',
    logger,
    requestTimeoutMs: config.GATEWAY_RPC_TIMEOUT,
    metrics: registry,
  });
  // Closed last opened first; also when the start fails half-way, so no connection or port stays behind.
  const parts = new CloseStack();
  parts.push(() => bus.close());
  try {
    const base: GatewayBase = {
      bus,
      logger,
      registry,
      metrics: new GatewayMetrics(registry),
      limiter: new TokenBucketLimiter({
        perSecond: config.GATEWAY_RATE_LIMIT_RPS,
        burst: config.GATEWAY_RATE_LIMIT_BURST,
      }),
      onClose: (close) => parts.push(close),
    };
    const { http, httpPort, url } = await openHttp(config, base);
    const { identity, login } = await openIdentity(config, options, base, url);
    const api = apiSurface(config, base, { identity, login }, url);
    const a2a = await openA2A(config, base, api.hub, identity, url);
    mountHttp(http, config, options, { api, identity, login, a2a });
    const grpcPort = await serveGrpc(config, options, base, { api, identity });

    logger.info({ httpPort, grpcPort, authMode: identity.mode, issuer: identity.issuer }, 'gateway started');
    let closing: Promise<void> | undefined;
    return {
      bus,
      identity,
      login,
      httpPort,
      grpcPort,
      url,
      routes: api.routes,
      openapi: api.openapi,
      close() {
        closing ??= (async () => {
          await parts.close(logger, { service: 'gateway' });
          logger.info({}, 'gateway stopped');
        })();
        return closing;
      },
    };
  } catch (error) {
    await parts.close(logger, { service: 'gateway' }).catch(() => undefined);
    throw error;
  }
}

type Closer = () => Promise<void> | void;

/** What every part of the gateway is opened with; `onClose` registers a part's closing (run before the earlier ones'). */
interface GatewayBase {
  readonly bus: MessageBus;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metrics: GatewayMetrics;
  /** One limiter for REST and gRPC alike. */
  readonly limiter: TokenBucketLimiter;
  onClose(close: Closer): void;
}

/** The API operations and what they run on: the RPC executor, the event hub, the stream tickets. */
interface ApiSurface {
  readonly executor: RouteExecutor;
  readonly hub: EventHub;
  readonly tickets: StreamTickets;
  readonly routes: Route[];
  readonly openapi: Record<string, unknown>;
}

/**
 * The REST/SSE server, bound before anything else: with port 0 the issuer URL (the token's `iss`)
 * is only known afterwards. Its readiness is the bus answering a ping.
 */
async function openHttp(
  config: GatewayConfig,
  base: GatewayBase,
): Promise<{ http: GatewayHttpServer; httpPort: number; url: string }> {
  const { bus, limiter, metrics, registry, logger } = base;
  const corsOrigins = config.GATEWAY_CORS_ORIGINS?.split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  const http = new GatewayHttpServer({
    limiter,
    metrics,
    registry,
    logger,
    maxBodyBytes: config.GATEWAY_MAX_BODY_BYTES,
    maxImportBytes: config.GATEWAY_MAX_IMPORT_BYTES,
    corsOrigins: corsOrigins?.length ? corsOrigins : undefined,
    ready: async () => {
      try {
        await bus.ping();
        return { nats: 'ok' };
      } catch {
        return { nats: 'failing' };
      }
    },
  });
  const httpPort = await http.listen(config.GATEWAY_HTTP_PORT, config.GATEWAY_HTTP_HOST);
  base.onClose(() => http.close());
  const host =
    config.GATEWAY_HTTP_HOST === '0.0.0.0' || config.GATEWAY_HTTP_HOST === '::'
      ? '127.0.0.1'
      : config.GATEWAY_HTTP_HOST;
  const url = (config.GATEWAY_PUBLIC_URL ?? `http://${host}:${httpPort}`).replace(/\/+$/, '');
  return { http, httpPort, url };
}

/** The callers' identity (built-in issuer or external OIDC) and, in dev mode, people's sign-in at the built-in issuer. */
async function openIdentity(
  config: GatewayConfig,
  options: GatewayAppOptions,
  base: GatewayBase,
  url: string,
): Promise<{ identity: GatewayIdentity; login: PeopleLogin | undefined }> {
  const identity = await createIdentity(config, url, base.logger, { devClients: options.devClients });
  base.onClose(() => identity.close());
  const login = identity.dev
    ? createPeopleLogin(
        identity.dev,
        url,
        loadDevPeople(config.AUTH_DEV_REGISTRY_DIR, base.logger, options.people),
      )
    : undefined;
  base.onClose(() => login?.close());
  return { identity, login };
}

/** The API operations (REST and gRPC share them) and their OpenAPI document. */
function apiSurface(
  config: GatewayConfig,
  base: GatewayBase,
  { identity, login }: { identity: GatewayIdentity; login: PeopleLogin | undefined },
  url: string,
): ApiSurface {
  const executor = new RouteExecutor(base.bus, config.GATEWAY_RPC_TIMEOUT, config.GATEWAY_IMPORT_RPC_TIMEOUT);
  const hub = new EventHub(base.bus, base.logger, undefined, config.GATEWAY_RPC_TIMEOUT);
  base.onClose(() => hub.closeAll());
  const tickets = new StreamTickets({
    key: config.GATEWAY_STREAM_TICKET_KEY,
    ttlMs: config.GATEWAY_STREAM_TICKET_TTL,
  });
  const routes: Route[] = [
    ...API_ROUTES,
    eventsRoute(hub, { heartbeatMs: config.GATEWAY_SSE_HEARTBEAT, metrics: base.metrics }),
    streamTicketsRoute(tickets, config.GATEWAY_STREAM_TICKET_TTL),
    whoamiRoute,
    ...(identity.dev ? devAuthRoutes(identity.dev, login) : []),
  ];
  const openapi = buildOpenApi(routes, {
    serverUrl: url,
    version: GATEWAY_API_VERSION,
    tokenUrl: identity.dev ? `${url}/v1/auth/token` : undefined,
  });
  return { executor, hub, tickets, routes, openapi };
}

/** A2A over the mesh (ADR 0018), when GATEWAY_A2A: described by its Agent Cards, not by the OpenAPI document. */
async function openA2A(
  config: GatewayConfig,
  base: GatewayBase,
  hub: EventHub,
  identity: GatewayIdentity,
  url: string,
): Promise<A2AMount | undefined> {
  const a2a = config.GATEWAY_A2A
    ? await createA2A({
        bus: base.bus,
        hub,
        logger: base.logger,
        baseUrl: url,
        tokenUrl: identity.dev ? `${url}/v1/auth/token` : undefined,
        version: GATEWAY_API_VERSION,
        rpcTimeoutMs: config.GATEWAY_RPC_TIMEOUT,
        blockingTimeoutMs: config.GATEWAY_A2A_BLOCKING_TIMEOUT,
        heartbeatMs: config.GATEWAY_SSE_HEARTBEAT,
        signingKey: config.GATEWAY_A2A_SIGNING_KEY,
        push: config.GATEWAY_A2A_PUSH,
        pushAllow: config.GATEWAY_A2A_PUSH_ALLOW,
        metricsRegistry: base.registry,
      })
    : undefined;
  base.onClose(() => a2a?.close());
  return a2a;
}

/**
 * Mounts on the REST server the API operations, their docs, and the pages: the sign-in pages, the
 * console's files and the A2A routes are served but are no API operations (not in OpenAPI or gRPC).
 */
function mountHttp(
  http: GatewayHttpServer,
  config: GatewayConfig,
  options: GatewayAppOptions,
  parts: {
    api: ApiSurface;
    identity: GatewayIdentity;
    login: PeopleLogin | undefined;
    a2a: A2AMount | undefined;
  },
): void {
  const { api, identity, login, a2a } = parts;
  const pages = [
    ...(login ? peopleLoginRoutes(login) : []),
    ...consoleRoutes(
      new ConsoleAssets(options.consoleDir ?? findConsoleDist()),
      consoleSignIn({
        mode: identity.mode,
        issuer: config.AUTH_ISSUER,
        clientId: config.CONSOLE_OIDC_CLIENT_ID,
        scope: config.CONSOLE_OIDC_SCOPE,
      }),
    ),
    ...(a2a?.routes ?? []),
  ];
  http.mount({
    routes: [...api.routes, ...pages],
    executor: api.executor,
    identity,
    tickets: api.tickets,
    docs: { json: JSON.stringify(api.openapi), html: renderDocsPage(api.openapi) },
  });
}

/** The gRPC server of the same API operations; returns its bound port. */
async function serveGrpc(
  config: GatewayConfig,
  options: GatewayAppOptions,
  base: GatewayBase,
  { api, identity }: { api: ApiSurface; identity: GatewayIdentity },
): Promise<number> {
  const grpcServer = new GatewayGrpcServer({
    routes: api.routes,
    executor: api.executor,
    identity,
    hub: api.hub,
    limiter: base.limiter,
    metrics: base.metrics,
    logger: base.logger,
    protoDir: options.protoDir ?? findProtoDir(),
    maxMessageBytes: config.GATEWAY_MAX_IMPORT_BYTES,
    reflection: config.GATEWAY_GRPC_REFLECTION,
  });
  const grpcPort = await grpcServer.listen(config.GATEWAY_GRPC_PORT, config.GATEWAY_GRPC_HOST);
  base.onClose(() => grpcServer.close());
  return grpcPort;
}

/** The dev clients' credentials as printed at startup (the secrets are the documented dev ones). */
export function devCredentialLines(identity: GatewayIdentity): string[] {
  if (!identity.dev) return [];
  return identity.dev.clients.clientIds().map((id) => {
    const client = identity.dev?.clients.get(id);
    return `  ${id.padEnd(28)} ${devSecretFor(id).padEnd(40)} role=${client?.role ?? '?'} scope="${client?.scopes.join(' ') ?? ''}"`;
  });
}
