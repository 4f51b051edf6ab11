import { createJwtVerifier } from '@orgmesh/auth';
import { createLogger } from '@orgmesh/telemetry';
import { type TestContext, namespaceBus, serviceTestEnv } from '@orgmesh/testing';
import { loadGatewayConfig, type GatewayConfig } from '../gateway.config.js';
import { startGatewayApp, type GatewayApp, type GatewayAppOptions } from '../gateway.app.js';
// The real services run in-process behind the gateway in its integration tests.
import { startTestSessions, trustIssuer } from '@orgmesh/sessions/testing';
import { testConfig as meshTestConfig, startMeshRouterApp } from '@orgmesh/mesh-router/testing';
import { startTestRegistry } from '@orgmesh/registry/testing';
import {
  JoseTokenVerifier,
  MemoryRedactionStore,
  MemoryUsageStore,
  serveRedactions,
  serveUsage,
  type RedactionStore,
} from '@orgmesh/privacy-proxy/testing';

export const silentLogger = createLogger({ service: 'gateway-test', level: 'silent' });

/** Test defaults: OS-chosen ports, the test's NATS namespace, cheap secret hashing, a generous rate limit. */
export function gatewayTestConfig(ctx: TestContext, overrides: Record<string, string> = {}): GatewayConfig {
  return loadGatewayConfig({
    ...serviceTestEnv(ctx, ['GATEWAY_HTTP_PORT', 'GATEWAY_GRPC_PORT']),
    GATEWAY_RPC_TIMEOUT: '3s',
    GATEWAY_RATE_LIMIT_RPS: '10000',
    GATEWAY_RATE_LIMIT_BURST: '10000',
    AUTH_SECRET_HASH_COST: '1024',
    ...overrides,
  });
}

/**
 * Starts a gateway; the sessions services of the context trust its issuer from then on (the dev
 * issuer's JWKS endpoint, or the external issuer's in oidc mode), as they would in a deployment.
 */
export async function startTestGateway(
  ctx: TestContext,
  overrides: Record<string, string> = {},
  options: GatewayAppOptions = {},
): Promise<GatewayApp> {
  const config = gatewayTestConfig(ctx, overrides);
  const app = await startGatewayApp(config, { logger: silentLogger, ...options });
  trustIssuer(
    ctx,
    createJwtVerifier({
      issuer: app.identity.issuer,
      audience: app.identity.audience,
      jwksUrl: config.AUTH_JWKS_URL ?? `${app.url}/.well-known/jwks.json`,
    }),
  );
  return app;
}

export type TestSessions = Awaited<ReturnType<typeof startTestSessions>>;
export type TestMeshRouter = Awaited<ReturnType<typeof startMeshRouterApp>>;
export type TestRegistry = Awaited<ReturnType<typeof startTestRegistry>>;

/**
 * The gateway with the real registry (auth on, trusting the gateway, rendering configs that point at
 * it), mesh router and sessions behind it.
 */
export interface GatewayStack {
  gateway: GatewayApp;
  registry: TestRegistry;
  mesh: TestMeshRouter;
  /** Undefined when started with `sessions: false`. */
  sessions: TestSessions | undefined;
  /** Closes the gateway first, then the services behind it. */
  close(): Promise<void>;
}

export async function startGatewayStack(
  ctx: TestContext,
  options: { sessions?: boolean; gateway?: Record<string, string> } = {},
): Promise<GatewayStack> {
  const gateway = await startTestGateway(ctx, options.gateway);
  const registry = await startTestRegistry(ctx, {
    overrides: { REGISTRY_AUTH: 'on', AUTH_ISSUER: gateway.url, GATEWAY_URL: gateway.url },
  });
  const mesh = await startMeshRouterApp(meshTestConfig(ctx, { AUTH_ISSUER: gateway.url }), {
    logger: silentLogger,
    migrate: true,
    startJobs: false,
  });
  const sessions = options.sessions === false ? undefined : await startTestSessions(ctx);
  const usage = await startUsageResponder(ctx, gateway);
  return {
    gateway,
    registry,
    mesh,
    sessions,
    async close() {
      await usage.close();
      await gateway.close();
      await mesh.close();
      await registry.close();
      await sessions?.close();
    },
  };
}

/**
 * What answers GET /v1/usage (`rpc.privacy.v1.get-usage`) and GET /v1/privacy/redactions
 * (`rpc.privacy.v1.get-redactions`) in the privacy proxy: their real handlers and token check
 * (trusting this gateway's issuer, as deployed) on in-memory stores (or the given redaction store),
 * without starting a proxy.
 */
export async function startUsageResponder(
  ctx: TestContext,
  gateway: GatewayApp,
  options: { redactions?: RedactionStore } = {},
): Promise<{ close(): Promise<void> }> {
  const bus = await namespaceBus(ctx, 'privacy-proxy', { logger: silentLogger });
  const verifier = JoseTokenVerifier.fromJwksUrl(`${gateway.url}/.well-known/jwks.json`, {
    issuer: gateway.identity.issuer,
    audience: gateway.identity.audience,
  });
  serveUsage(bus, { usage: new MemoryUsageStore(), verifier });
  serveRedactions(bus, { redactions: options.redactions ?? new MemoryRedactionStore(), verifier });
  await bus.nc.flush();
  return { close: () => bus.close() };
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** A token from the gateway's own token endpoint (dev clients: `<id>` / `<id>-dev-secret`). */
export async function devToken(
  app: GatewayApp,
  clientId: string,
  secret = `${clientId}-dev-secret`,
): Promise<string> {
  const res = await fetch(`${app.url}/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
  });
  if (res.status !== 200) throw new Error(`token for ${clientId}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** JSON over HTTP against the gateway. */
export async function api<T = any>( // eslint-disable-line @typescript-eslint/no-explicit-any
  app: GatewayApp,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token) headers['authorization'] = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(`${app.url}${path}`, { method, headers, body });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return {
    status: res.status,
    headers: res.headers,
    body: (type.includes('json') && text ? JSON.parse(text) : text) as T,
  };
}

export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** A minimal SSE client over fetch (EventSource cannot send Authorization). Collects frames as they arrive. */
export class SseClient {
  readonly frames: SseFrame[] = [];
  status = 0;
  private readonly controller = new AbortController();
  private done: Promise<void> = Promise.resolve();

  static async open(
    app: GatewayApp,
    path: string,
    options: { token?: string; lastEventId?: string } = {},
  ): Promise<SseClient> {
    const client = new SseClient();
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (options.token) headers['authorization'] = `Bearer ${options.token}`;
    if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
    const res = await fetch(`${app.url}${path}`, { headers, signal: client.controller.signal });
    client.status = res.status;
    if (!res.body) return client;
    if (res.status !== 200) {
      client.frames.push({ data: await res.text() });
      return client;
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    client.done = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += decoder.decode(value, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const frame: SseFrame = {};
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) frame.comment = line.slice(1).trim();
              else {
                const colon = line.indexOf(':');
                const field = colon < 0 ? line : line.slice(0, colon);
                const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
                if (field === 'id' || field === 'event' || field === 'data') frame[field] = value;
              }
            }
            client.frames.push(frame);
          }
        }
      } catch {
        // aborted by close()
      }
    })();
    return client;
  }

  /** Frames that carry an event (not comments or the initial id-only frame). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  events(): Array<{ id: string; event: string; data: any }> {
    return this.frames
      .filter((f) => f.event !== undefined && f.data !== undefined)
      .map((f) => ({ id: f.id ?? '', event: f.event ?? '', data: JSON.parse(f.data ?? 'null') }));
  }

  /** The id of the subscription's first frame (its starting cursor). */
  initialId(): string | undefined {
    return this.frames.find((f) => f.comment === 'subscribed')?.id;
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}
