import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { AppError } from '@orgmesh/contracts';
import { extractTraceContext } from '@orgmesh/messaging';
import {
  isJsonMediaType,
  listenHttp,
  mediaType,
  parseJsonBody,
  readBody,
  type HttpEdge,
} from '@orgmesh/service-host/http-edge';
import type { Logger, TokenBucketLimiter } from '@orgmesh/telemetry';
import type { GatewayIdentity } from '../auth/identity.js';
import type { Caller } from '../auth/caller.js';
import { TOKEN_IN_URL, type StreamTickets } from '../events/stream-ticket.js';
import type { GatewayMetrics } from '../gateway.metrics.js';
import { checkIdempotencyKey, type RouteExecutor } from '../routes/executor.js';
import type { HttpMethod, RawRoute, Route, RpcRoute } from '../routes/route.js';
import { answerClientError } from './client-error.js';
import { answerError, answerLastResort } from './error-response.js';
import { Router } from './router.js';
import { DOCS_RENDERER_PATH, docsRenderer, type DocsAsset } from '../openapi/docs-page.js';

export interface HttpServerOptions {
  limiter: TokenBucketLimiter;
  metrics: GatewayMetrics;
  registry: Registry;
  logger: Logger;
  maxBodyBytes: number;
  maxImportBytes: number;
  /** Origins allowed by CORS; undefined = CORS off. */
  corsOrigins: readonly string[] | undefined;
  ready: () => Promise<Record<string, 'ok' | 'failing'>>;
}

/** What the server answers with once mounted (after binding, so the issuer can know the bound URL). */
export interface HttpMount {
  routes: readonly Route[];
  executor: RouteExecutor;
  identity: GatewayIdentity;
  /** Redeems `?ticket=` on routes that accept one (`streamTicket`). */
  tickets?: StreamTickets;
  /** JSON and HTML served at /openapi.json and /docs. */
  docs: { json: string; html: string };
}

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);
/** How long a stop lets requests in flight finish before their connections are cut. */
const SHUTDOWN_GRACE_MS = 5_000;

/**
 * The REST edge on node:http. Every request: CORS, route match (404/405 as problems), token
 * verification, per-client rate limit, body limit, validation, one or more NATS RPCs, JSON reply.
 * Every error leaves as application/problem+json with the contract's stable code.
 */
export class GatewayHttpServer {
  private readonly server: Server;
  private router = new Router<Route>();
  private mounted: HttpMount | undefined;
  private edge: HttpEdge | undefined;
  private readonly streams = new Set<AbortController>();

  constructor(private readonly options: HttpServerOptions) {
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      // The last-resort boundary: whatever escapes handle() is a bug, answered as `internal` here
      // rather than an unhandled rejection that would take the process (and every client) down.
      this.handle(req, res).catch((error: unknown) => answerLastResort(this.options, res, error, undefined));
    };
    // Host is checked in dispatch instead, so its absence is answered with a problem body too.
    this.server = createServer({ requireHostHeader: false }, onRequest);
    // Node answers an `Expect` other than 100-continue with an empty 417 by itself; RFC 9110 lets a
    // server ignore it instead, so the request is handled (and any error is a problem) as usual.
    this.server.on('checkExpectation', onRequest);
    this.server.keepAliveTimeout = 65_000;
    // Node's parser refusals (431 for a 16 KB request line, 400 for control characters) get a body too.
    this.server.on('clientError', answerClientError);
  }

  /** Starts answering API requests; before this every request but /healthz is 503. */
  mount(mount: HttpMount): void {
    const router = new Router<Route>();
    for (const route of mount.routes) router.add(route.method, route.path, route);
    this.router = router;
    this.mounted = mount;
  }

  /** Binds (port 0: a free one) and resolves with the port bound. */
  async listen(port: number, host: string, graceMs = SHUTDOWN_GRACE_MS): Promise<number> {
    this.edge = await listenHttp(this.server, { port, host, graceMs });
    return this.edge.port;
  }

  /**
   * Ends event streams first (they would otherwise hold their connections for the whole grace), then
   * stops accepting, closes idle connections and lets requests in flight finish within the grace
   * given to listen (the edge kit's close, which runService's stop awaits through the closers).
   */
  async close(): Promise<void> {
    for (const stream of this.streams) stream.abort();
    await this.edge?.close();
  }

  /**
   * One server span per request, child of the caller's `traceparent`; the NATS requests made while
   * handling it carry it on (the messaging lib injects the active context).
   */
  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    // A client that goes away mid-request makes its streams emit 'error'; unheard, that is fatal.
    req.on('error', peerGone);
    res.on('error', (error: Error & { code?: string }) =>
      this.options.logger.debug({ code: error.code }, 'response stream failed'),
    );
    const method = (req.method ?? 'GET').toUpperCase();
    const url = requestUrl(req.url);
    const headers: Record<string, string> = {};
    for (const name of ['traceparent', 'tracestate']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const parent = extractTraceContext(headers);
    const span = trace.getTracer('@orgmesh/gateway').startSpan(
      method,
      // No raw path: ids in it (users, agents) are the org's data; the route template is set at the end.
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } },
      parent,
    );
    const state = { route: 'unmatched' };
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.options.metrics.httpDuration.observe(
        { method, route: state.route, status: String(res.statusCode) },
        seconds,
      );
      span.updateName(`${method} ${state.route}`);
      span.setAttributes({ 'http.route': state.route, 'http.response.status_code': res.statusCode });
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    try {
      await context.with(trace.setSpan(parent, span), () => this.dispatch(req, res, method, url, state));
    } catch (error) {
      answerLastResort(this.options, res, error, span.spanContext().traceId);
    }
  }

  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    url: URL,
    state: { route: string },
  ): Promise<void> {
    try {
      if (req.httpVersion === '1.1' && req.headers.host === undefined) {
        throw new AppError('validation_failed', 'an HTTP/1.1 request needs a Host header', {
          details: { issues: [{ path: 'header.Host', message: 'required in HTTP/1.1' }] },
        });
      }
      if (this.cors(req, res, method)) return;
      const mounted = this.mounted;
      if (!mounted && url.pathname !== '/healthz')
        throw new AppError('unavailable', 'the gateway is starting');
      if (await this.builtin(url.pathname, method, req, res, mounted)) {
        state.route = url.pathname;
        return;
      }
      const match = this.router.match(method, url.pathname);
      if (!match.found) {
        if (match.allowed.length) {
          res.setHeader('allow', match.allowed.join(', '));
          throw new AppError('method_not_allowed', `${method} is not allowed on this path`, {
            details: { allow: match.allowed },
          });
        }
        throw new AppError('not_found', `no route for ${method} ${url.pathname}`);
      }
      state.route = match.template;
      const route = match.value;
      let caller: Caller | undefined;
      if (route.access === 'public') {
        this.limit(`ip:${clientAddress(req)}`, 'http');
      } else {
        caller = await this.authenticate(req, url, route, mounted as HttpMount);
        this.limit(`sub:${caller.subject}`, 'http');
      }
      if (route.kind === 'raw') await this.raw(route, req, res, url, caller);
      else
        await this.rpc(
          (mounted as HttpMount).executor,
          route,
          req,
          res,
          url,
          match.params,
          caller as Caller,
          method,
        );
    } catch (error) {
      answerError(this.options, req, res, url.pathname, error, state.route);
    }
  }

  private async authenticate(
    req: IncomingMessage,
    url: URL,
    route: Route,
    mounted: HttpMount,
  ): Promise<Caller> {
    try {
      return await mounted.identity.authenticate(this.credential(req, url, route, mounted));
    } catch (error) {
      const code = error instanceof AppError ? error.code : 'internal';
      this.options.metrics.authFailures.inc({ transport: 'http', code });
      // Failed authentications count against the client address, so guessing tokens is rate limited too.
      this.limit(`ip:${clientAddress(req)}`, 'http');
      throw error;
    }
  }

  /**
   * The `Authorization` value to verify: the header, or on a `streamTicket` route the token sealed
   * in `?ticket=` (single use). A long-lived token in the URL (`?access_token=`) is refused there
   * outright: URLs end up in proxy and browser logs.
   */
  private credential(req: IncomingMessage, url: URL, route: Route, mounted: HttpMount): string | undefined {
    const header = req.headers.authorization;
    if (route.kind !== 'raw' || !route.streamTicket) return header;
    if (url.searchParams.has('access_token')) {
      throw new AppError(
        'unauthenticated',
        'a token in the URL (access_token) is refused: send "Authorization: Bearer <token>", or from a ' +
          'browser EventSource a single-use ticket from POST /v1/events/tickets as ?ticket=',
        { details: { reason: TOKEN_IN_URL } },
      );
    }
    const ticket = url.searchParams.get('ticket');
    if (ticket === null) return header;
    if (header !== undefined) {
      throw new AppError('validation_failed', 'send either the Authorization header or a ticket, not both', {
        details: { issues: [{ path: 'query.ticket', message: 'not with an Authorization header' }] },
      });
    }
    if (!mounted.tickets) throw new AppError('unauthenticated', 'stream tickets are not enabled');
    return mounted.tickets.redeem(ticket);
  }

  private limit(key: string, transport: string): void {
    const decision = this.options.limiter.take(key);
    if (!decision.allowed) {
      this.options.metrics.rateLimited.inc({ transport });
      throw new AppError('rate_limited', 'too many requests', {
        details: { retryAfterSec: decision.retryAfterSec },
      });
    }
  }

  private async rpc(
    executor: RouteExecutor,
    route: RpcRoute,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    params: Record<string, string>,
    caller: Caller,
    method: string,
  ): Promise<void> {
    let body: unknown;
    if (METHODS_WITH_BODY.has(method)) {
      const raw = await readBody(
        req,
        route.largeBody ? this.options.maxImportBytes : this.options.maxBodyBytes,
      );
      const type = mediaType(req.headers['content-type']);
      const alternate = route.alternateBodies?.[type as 'text/csv'];
      if (alternate) body = alternate(raw.toString('utf8'));
      else if (isJsonMediaType(type) || raw.length === 0) body = parseJsonBody(raw);
      else {
        const accepted = ['application/json', ...Object.keys(route.alternateBodies ?? {})].join(' or ');
        throw new AppError('validation_failed', `unsupported content type ${type}: expected ${accepted}`, {
          details: { issues: [{ path: 'header.Content-Type', message: `expected ${accepted}` }] },
        });
      }
    } else {
      req.resume();
    }
    const idempotencyKey = checkIdempotencyKey(headerValue(req, 'idempotency-key'));
    const query = Object.fromEntries(url.searchParams);
    const result = await executor.execute(route, { params, query, body }, caller, idempotencyKey);
    const text = JSON.stringify(result);
    res.writeHead(route.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(method === 'HEAD' ? undefined : text);
  }

  private async raw(
    route: RawRoute,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    caller: Caller | undefined,
  ): Promise<void> {
    if (caller && route.access !== 'public' && !route.access.includes(caller.kind)) {
      throw new AppError(
        'forbidden',
        `${route.method} ${route.path} requires ${route.access.join(' or ')}; the caller is ${caller.kind}`,
      );
    }
    const controller = new AbortController();
    this.streams.add(controller);
    const abort = () => controller.abort();
    res.once('close', abort);
    // The client may have gone while the token was checked: 'close' has fired already then.
    if (res.destroyed || req.socket.destroyed) abort();
    try {
      await route.handle(req, res, {
        caller,
        url,
        signal: controller.signal,
        readBody: () => readBody(req, this.options.maxBodyBytes),
      });
    } finally {
      this.streams.delete(controller);
      res.off('close', abort);
    }
  }

  /** Health, metrics and the API description: no token, no rate limit. */
  private async builtin(
    path: string,
    method: string,
    req: IncomingMessage,
    res: ServerResponse,
    mounted: HttpMount | undefined,
  ): Promise<boolean> {
    if (method !== 'GET' && method !== 'HEAD') return false;
    switch (path) {
      case '/healthz':
        send(res, 200, 'application/json', '{"status":"ok"}');
        return true;
      case '/readyz': {
        const checks = await this.options.ready();
        const ok = Object.values(checks).every((v) => v === 'ok');
        send(res, ok ? 200 : 503, 'application/json', JSON.stringify({ ok, checks }));
        return true;
      }
      case '/metrics':
        send(res, 200, this.options.registry.contentType, await this.options.registry.metrics());
        return true;
      case '/openapi.json':
        if (!mounted) return false;
        send(res, 200, 'application/json', mounted.docs.json);
        return true;
      case '/docs':
      case '/docs/':
        if (!mounted) return false;
        send(res, 200, 'text/html; charset=utf-8', mounted.docs.html);
        return true;
      case DOCS_RENDERER_PATH:
        if (!mounted) return false;
        sendAsset(req, res, await docsRenderer());
        return true;
      default:
        return false;
    }
  }

  /** Sets CORS headers for allowed origins; answers preflights. Returns true when the response is done. */
  private cors(req: IncomingMessage, res: ServerResponse, method: string): boolean {
    const allowed = this.options.corsOrigins;
    const origin = req.headers.origin;
    if (!allowed || !origin) return false;
    if (!allowed.includes('*') && !allowed.includes(origin)) return false;
    res.setHeader('access-control-allow-origin', allowed.includes('*') ? '*' : origin);
    res.setHeader('vary', 'Origin');
    res.setHeader('access-control-expose-headers', 'Retry-After, WWW-Authenticate');
    if (method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE',
        'access-control-allow-headers': 'Authorization, Content-Type, Idempotency-Key, Last-Event-ID',
        'access-control-max-age': '600',
      });
      res.end();
      return true;
    }
    return false;
  }
}

/** A static asset: revalidated by ETag on every use (a new build may change it), gzipped when accepted. */
function sendAsset(req: IncomingMessage, res: ServerResponse, asset: DocsAsset): void {
  const headers = { etag: asset.etag, 'cache-control': 'no-cache', vary: 'Accept-Encoding' };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzipped = String(req.headers['accept-encoding'] ?? '')
    .split(',')
    .some((part) => {
      const [name = '', ...params] = part.split(';').map((p) => p.trim());
      return name === 'gzip' && !params.some((p) => /^q=0(\.0*)?$/.test(p));
    });
  const body = gzipped ? asset.gzip : asset.body;
  res.writeHead(200, {
    ...headers,
    'content-type': asset.type,
    'content-length': body.length,
    ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(body);
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/** The request target as a URL; an absolute-form or unparsable target is matched as its path only. */
function requestUrl(target: string | undefined): URL {
  try {
    return new URL(target ?? '/', 'http://gateway.invalid');
  } catch {
    return new URL('/.invalid-request-target', 'http://gateway.invalid');
  }
}

function peerGone(): void {
  // The peer reset or aborted: the response's 'close' ends the request's work; nothing to answer.
}

function clientAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

export type { HttpMethod };
