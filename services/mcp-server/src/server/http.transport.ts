import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable, type Duplex } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import {
  createMcpHandler,
  hostHeaderValidationResponse,
  isLegacyRequest,
  type McpHttpHandler,
  type McpServer as ModernMcpServer,
} from '@modelcontextprotocol/server';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { isBodyTooLarge, listenHttp, readBody, sendJson } from '@orgmesh/service-host/http-edge';
import { unexpectedErrorFields, type Logger } from '@orgmesh/telemetry';
import { StaticTokenSource, type TokenSource } from '../gateway/token.provider.js';
import { GuardedTransport } from './guarded.transport.js';
import type { McpMetrics } from './mcp.metrics.js';
import { taskCallsOf } from './mcp.server.js';

export interface McpHttpOptions {
  readonly host: string;
  readonly port: number;
  /** Builds one MCP server for one request, acting with these tokens. */
  readonly serverFor: (tokens: TokenSource) => McpServer;
  /**
   * Builds one MCP 2026-07-28 server (the SDK's v2 line) for one request. Without it, every
   * request is served by `serverFor` (2025-11-25 and older).
   */
  readonly modernServerFor?: (tokens: TokenSource) => ModernMcpServer;
  /** The server's own agent credentials; without them every request must bring a bearer token. */
  readonly ownTokens: TokenSource | undefined;
  /** Host header values accepted besides the loopback names (DNS rebinding protection). */
  readonly allowedHosts: readonly string[];
  readonly logger: Logger;
  /** Counts unexpected errors and is served at `GET /metrics`. */
  readonly metrics?: McpMetrics;
}

export interface McpHttpServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Streamable HTTP at `POST /mcp`, stateless: every request gets its own MCP server and transport, so
 * replicas need no shared session state. A request's `Authorization: Bearer <orgmesh token>` is used
 * for its gateway calls (a multi-agent deployment); without one, the server's own credentials are.
 * `GET /healthz` answers 200.
 */
export async function startMcpHttpServer(options: McpHttpOptions): Promise<McpHttpServer> {
  const modern = modernHandler(options);
  const endpoint = new McpEndpoint(options, modern);
  const server: Server = createServer((req, res) => {
    void endpoint.handle(req, res).catch((error: unknown) => {
      // Last resort: logged once (type only: an SDK error may quote the body), answered -32603.
      options.metrics?.countUnexpected('mcp-http', '/mcp');
      options.logger.error(unexpectedErrorFields(error), 'mcp http request failed unexpectedly');
      if (!res.headersSent) writeJsonRpcError(res, 500, -32603, 'internal server error');
      else res.end();
    });
  });
  server.on('clientError', answerClientError);

  // No grace at close: a request in flight may be a blocking approval wait (minutes), so a stop
  // cuts it; the client retries against another replica or after the restart.
  const edge = await listenHttp(server, { port: options.port, host: options.host, graceMs: 0 });
  endpoint.port = edge.port;
  return {
    url: `${edge.origin}/mcp`,
    port: edge.port,
    close: async () => {
      void modern?.close().catch(() => undefined);
      await edge.close();
    },
  };
}

/**
 * 2026-07-28 requests (the per-request `_meta` envelope, `server/discover`) go to the v2 SDK's
 * handler; the bearer token travels to its per-request factory as `authInfo`. Undefined without
 * `modernServerFor`: every request is then served by the 2025-11-25 server.
 */
function modernHandler(options: McpHttpOptions): McpHttpHandler | undefined {
  const modernServerFor = options.modernServerFor;
  if (!modernServerFor) return undefined;
  return createMcpHandler(
    (context) => {
      const tokens = context.authInfo ? new StaticTokenSource(context.authInfo.token) : options.ownTokens;
      if (!tokens) throw new Error('unreachable: requests without a token are answered 401 first');
      return modernServerFor(tokens);
    },
    {
      legacy: 'reject',
      // Reporting only: rejected requests (bad input) arrive here too, so not counted as unexpected.
      onerror: (error) => options.logger.debug({ errorType: error.name }, 'mcp 2026-07-28 request refused'),
    },
  );
}

/**
 * Requests node:http refuses before any handler runs (a 2026-07-28 client mirrors `name` or
 * `taskId` into a header, so an oversized one overflows the 16 KB header limit): answered in
 * JSON-RPC shape like every other refusal, not node's bare 431/400.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) return void socket.destroy();
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: null,
    error: {
      code: -32600,
      message: tooLarge ? 'request headers larger than the server accepts' : 'malformed HTTP request',
    },
  });
  socket.end(
    `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * One request's way through the endpoint: routing (health, metrics, the MCP path and method),
 * the caller's token, the body's checks, then the protocol era's server. Holds only what every
 * request shares — no per-client state, as the server is stateless.
 */
class McpEndpoint {
  /** The listening port, known once listening: the legacy transport's allowed Host values name it. */
  port: number;
  /** The Host names the v2 handler accepts, ports stripped (it compares hostnames). */
  private readonly hostnames: string[];

  constructor(
    private readonly options: McpHttpOptions,
    private readonly modern: McpHttpHandler | undefined,
  ) {
    this.port = options.port;
    this.hostnames = [
      '127.0.0.1',
      'localhost',
      '[::1]',
      ...options.allowedHosts.map((h) =>
        h.startsWith('[') ? h.replace(/\]:\d+$/, ']') : h.replace(/:\d+$/, ''),
      ),
    ];
  }

  /** Routes: `GET /healthz`, `GET /metrics` (with metrics), `POST /mcp`; anything else in JSON-RPC's shape. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' && req.method === 'GET') {
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (path === '/metrics' && req.method === 'GET' && this.options.metrics) {
      const registry = this.options.metrics.registry;
      res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
      return;
    }
    if (path !== '/mcp') {
      writeJsonRpcError(res, 404, -32601, 'not found: the MCP endpoint is /mcp');
      return;
    }
    if (req.method !== 'POST') {
      // Stateless: no server-initiated stream (GET) and no session to delete (DELETE).
      res.setHeader('allow', 'POST');
      writeJsonRpcError(res, 405, -32000, 'method not allowed: this server is stateless, POST only');
      return;
    }
    await this.serveMcp(req, res);
  }

  /** `POST /mcp`: who calls (their bearer token, else the server's own), what they sent, and which era serves it. */
  private async serveMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const tokens = bearer ? new StaticTokenSource(bearer) : this.options.ownTokens;
    if (!tokens) {
      res.setHeader('www-authenticate', 'Bearer realm="orgmesh"');
      writeJsonRpcError(
        res,
        401,
        -32001,
        'unauthenticated: send your orgmesh token as Authorization: Bearer',
      );
      return;
    }
    const body = await readMessages(req, res);
    if (body === undefined) return;
    if (this.modern) {
      const request = webRequest(req, res);
      if (!(await isLegacyRequest(request, body))) {
        const answer =
          hostHeaderValidationResponse(request, this.hostnames) ??
          (await this.modern.fetch(request, {
            parsedBody: body,
            authInfo: bearer ? { token: bearer, clientId: 'bearer', scopes: [] } : undefined,
          }));
        await writeWebResponse(res, answer);
        return;
      }
    }
    await this.serveLegacy(req, res, tokens, body);
  }

  /** 2025-11-25 and older: one SDK server and transport for this request, closed when it ends. */
  private async serveLegacy(
    req: IncomingMessage,
    res: ServerResponse,
    tokens: TokenSource,
    body: unknown,
  ): Promise<void> {
    const { options } = this;
    const mcp = options.serverFor(tokens);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      // One JSON answer per request, except for a request that asked for progress notifications
      // (request_approval's blocking wait): those need the SSE response to travel on.
      enableJsonResponse: !wantsProgress(body),
      enableDnsRebindingProtection: true,
      allowedHosts: this.allowedHosts(),
    });
    res.on('close', () => {
      // A rejection here would be unhandled, and Node ends the process on one.
      transport.close().catch(() => undefined);
      mcp.close().catch(() => undefined);
    });
    await mcp.connect(
      new GuardedTransport(transport, options.logger, false, options.metrics, taskCallsOf(mcp)),
    );
    await transport.handleRequest(req, res, body);
  }

  /** Host header values the legacy transport accepts: the loopback names and the allowed hosts, bare or with the port. */
  private allowedHosts(): string[] {
    const p = this.port;
    return [
      ...['127.0.0.1', 'localhost', '[::1]'].flatMap((h) => [h, `${h}:${p}`]),
      ...this.options.allowedHosts.flatMap((h) =>
        h.includes(':') && !h.startsWith('[') ? [h] : [h, `${h}:${p}`],
      ),
    ];
  }
}

/**
 * The body as JSON-RPC messages (one or a batch), or undefined once refused: 413 above
 * MAX_BODY_BYTES, -32700 for bytes that are not JSON, -32600 for JSON that is not JSON-RPC.
 */
async function readMessages(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const body = await readJson(req);
  if (body === TOO_LARGE) {
    // The rest of the body is not read: the connection ends with this answer.
    res.setHeader('connection', 'close');
    writeJsonRpcError(res, 413, -32600, `request body above ${MAX_BODY_BYTES} bytes`);
    return undefined;
  }
  if (body === INVALID) {
    writeJsonRpcError(res, 400, -32700, 'parse error: the body is not JSON');
    return undefined;
  }
  // JSON that is not a JSON-RPC message is JSON-RPC's Invalid Request (-32600); the SDK's
  // transport would answer it -32700, the code for bytes that are not JSON at all.
  const messages = Array.isArray(body) ? body : [body];
  if (messages.length === 0 || !messages.every((m) => JSONRPCMessageSchema.safeParse(m).success)) {
    writeJsonRpcError(res, 400, -32600, 'invalid request: not a JSON-RPC 2.0 message');
    return undefined;
  }
  return body;
}

/** Whether the body is one request (or a batch holding one) with a `_meta.progressToken`. */
function wantsProgress(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((message) => {
    const meta = (message as { params?: { _meta?: { progressToken?: unknown } } } | null)?.params?._meta;
    return meta?.progressToken !== undefined;
  });
}

/** The web-standard Request the v2 SDK's handler takes; aborted when the client goes away. */
function webRequest(req: IncomingMessage, res: ServerResponse): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  const aborted = new AbortController();
  res.on('close', () => aborted.abort());
  // A fixed URL: the Host header (checked against the allowed names) may be anything a client
  // sends, and a URL built from it could fail to parse.
  return new Request('http://localhost/mcp', {
    method: req.method,
    headers,
    signal: aborted.signal,
  });
}

async function writeWebResponse(res: ServerResponse, answer: Response): Promise<void> {
  res.writeHead(answer.status, Object.fromEntries(answer.headers));
  if (!answer.body) {
    res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const body = Readable.fromWeb(answer.body as unknown as NodeReadableStream);
    body.on('error', () => res.destroy());
    res.on('close', resolve);
    body.pipe(res);
  });
}

const TOO_LARGE = Symbol('too large');
const INVALID = Symbol('invalid');

/** The body as JSON, or why not: above MAX_BODY_BYTES (the kit's limit), or not JSON at all. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  let raw: Buffer;
  try {
    raw = await readBody(req, MAX_BODY_BYTES);
  } catch (error) {
    if (isBodyTooLarge(error)) return TOO_LARGE;
    throw error;
  }
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return INVALID;
  }
}

/** JSON-RPC's error envelope: the MCP edge answers in its protocol's shape, not problem+json. */
function writeJsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null });
}
