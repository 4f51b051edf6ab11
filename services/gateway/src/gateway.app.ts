import { connectBus, type MessageBus } from '@orgmesh/messaging';
import type { ClientDefinition } from '@orgmesh/auth';
import { createLogger, createMetricsRegistry, TokenBucketLimiter, type Logger } from '@orgmesh/telemetry';
import type { GatewayConfig } from './gateway.config.js';
import { GatewayMetrics } from './gateway.metrics.js';
import { createIdentity, type GatewayIdentity } from './auth/identity.js';
import { createA2A } from './a2a/a2a.routes.js';
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
    url: config.NATS_URL,
    name: 'gateway',
    nkeySeedFile: config.NATS_NKEY_SEED_FILE,
    tlsCaFile: config.NATS_TLS_CA_FILE,
    subjectPrefix: config.NATS_SUBJECT_PREFIX,
    nameSuffix: config.NATS_NAME_SUFFIX,
    logger,
    requestTimeoutMs: config.GATEWAY_RPC_TIMEOUT,
    metrics: registry,
  });
  const closers: Array<() => Promise<void> | void> = [() => bus.close()];
  try {
    const metrics = new GatewayMetrics(registry);
    const limiter = new TokenBucketLimiter({
      perSecond: config.GATEWAY_RATE_LIMIT_RPS,
      burst: config.GATEWAY_RATE_LIMIT_BURST,
    });
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
    // Bound first: with port 0 the issuer URL (the token's `iss`) is only known afterwards.
    const httpPort = await http.listen(config.GATEWAY_HTTP_PORT, config.GATEWAY_HTTP_HOST);
    closers.unshift(() => http.close());
    const host =
      config.GATEWAY_HTTP_HOST === '0.0.0.0' || config.GATEWAY_HTTP_HOST === '::'
        ? '127.0.0.1'
        : config.GATEWAY_HTTP_HOST;
    const url = (config.GATEWAY_PUBLIC_URL ?? `http://${host}:${httpPort}`).replace(/\/+$/, '');

    const identity = await createIdentity(config, url, logger, { devClients: options.devClients });
    closers.unshift(() => identity.close());
    const login = identity.dev
      ? createPeopleLogin(
          identity.dev,
          url,
          loadDevPeople(config.AUTH_DEV_REGISTRY_DIR, logger, options.people),
        )
      : undefined;
    closers.unshift(() => login?.close());
    const executor = new RouteExecutor(bus, config.GATEWAY_RPC_TIMEOUT, config.GATEWAY_IMPORT_RPC_TIMEOUT);
    const hub = new EventHub(bus, logger, undefined, config.GATEWAY_RPC_TIMEOUT);
    closers.unshift(() => hub.closeAll());
    const tickets = new StreamTickets({
      key: config.GATEWAY_STREAM_TICKET_KEY,
      ttlMs: config.GATEWAY_STREAM_TICKET_TTL,
    });
    const routes: Route[] = [
      ...API_ROUTES,
      eventsRoute(hub, { heartbeatMs: config.GATEWAY_SSE_HEARTBEAT, metrics }),
      streamTicketsRoute(tickets, config.GATEWAY_STREAM_TICKET_TTL),
      whoamiRoute,
      ...(identity.dev ? devAuthRoutes(identity.dev, login) : []),
    ];
    const openapi = buildOpenApi(routes, {
      serverUrl: url,
      version: GATEWAY_API_VERSION,
      tokenUrl: identity.dev ? `${url}/v1/auth/token` : undefined,
    });
    // A2A over the mesh (ADR 0018): described by its Agent Cards, not by the OpenAPI document.
    const a2a = config.GATEWAY_A2A
      ? await createA2A({
          bus,
          hub,
          logger,
          baseUrl: url,
          tokenUrl: identity.dev ? `${url}/v1/auth/token` : undefined,
          version: GATEWAY_API_VERSION,
          rpcTimeoutMs: config.GATEWAY_RPC_TIMEOUT,
          blockingTimeoutMs: config.GATEWAY_A2A_BLOCKING_TIMEOUT,
          heartbeatMs: config.GATEWAY_SSE_HEARTBEAT,
          signingKey: config.GATEWAY_A2A_SIGNING_KEY,
          push: config.GATEWAY_A2A_PUSH,
          pushAllow: config.GATEWAY_A2A_PUSH_ALLOW,
          metricsRegistry: registry,
        })
      : undefined;
    closers.unshift(() => a2a?.close());
    // The sign-in pages and the console's files are served but are no API operations (not in OpenAPI or gRPC).
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
      routes: [...routes, ...pages],
      executor,
      identity,
      tickets,
      docs: { json: JSON.stringify(openapi), html: renderDocsPage(openapi) },
    });

    const grpcServer = new GatewayGrpcServer({
      routes,
      executor,
      identity,
      hub,
      limiter,
      metrics,
      logger,
      protoDir: options.protoDir ?? findProtoDir(),
      maxMessageBytes: config.GATEWAY_MAX_IMPORT_BYTES,
      reflection: config.GATEWAY_GRPC_REFLECTION,
    });
    const grpcPort = await grpcServer.listen(config.GATEWAY_GRPC_PORT, config.GATEWAY_GRPC_HOST);
    closers.unshift(() => grpcServer.close());

    logger.info({ httpPort, grpcPort, authMode: identity.mode, issuer: identity.issuer }, 'gateway started');
    let closing: Promise<void> | undefined;
    return {
      bus,
      identity,
      login,
      httpPort,
      grpcPort,
      url,
      routes,
      openapi,
      close() {
        closing ??= (async () => {
          for (const close of closers) await close();
          logger.info({}, 'gateway stopped');
        })();
        return closing;
      },
    };
  } catch (error) {
    for (const close of closers) await Promise.resolve(close()).catch(() => undefined);
    throw error;
  }
}

/** The dev clients' credentials as printed at startup (the secrets are the documented dev ones). */
export function devCredentialLines(identity: GatewayIdentity): string[] {
  if (!identity.dev) return [];
  return identity.dev.clients.clientIds().map((id) => {
    const client = identity.dev?.clients.get(id);
    return `  ${id.padEnd(28)} ${devSecretFor(id).padEnd(40)} role=${client?.role ?? '?'} scope="${client?.scopes.join(' ') ?? ''}"`;
  });
}
