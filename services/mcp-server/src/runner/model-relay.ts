import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TokenSource } from '../gateway/token.provider.js';

/**
 * Headers not forwarded: hop-by-hop ones (RFC 9110 §7.6.1), the host (the target's own), and the
 * credentials, which the relay replaces.
 */
const DROPPED_REQUEST_HEADERS = new Set([
  'authorization',
  'connection',
  'host',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'upgrade',
  'x-api-key',
]);
const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade']);

export interface ModelRelayOptions {
  /** The privacy proxy: where every call goes. */
  readonly targetUrl: string;
  /** The agent's token source; asked on every call, so each call carries a current token. */
  readonly tokens: TokenSource;
}

/**
 * A loopback forwarder between a model client that reads its credential once at start (Goose) and
 * the privacy proxy. The client is given the relay's URL and a key that is valid for this run only;
 * the relay swaps that key for the agent's current token on each call, so a run outlives any one
 * token. Requests without the run's key are refused: another local process cannot borrow the
 * agent's identity through it. Bodies stream both ways (server-sent events pass as they come).
 */
export class ModelRelay {
  /** What the client sends as its API key; worthless outside this relay and this run. */
  readonly key = `orgmesh-relay-${randomBytes(24).toString('base64url')}`;
  private readonly server = createServer((req, res) => void this.handle(req, res));
  private readonly target: URL;
  private listening: string | undefined;

  constructor(private readonly options: ModelRelayOptions) {
    this.target = new URL(options.targetUrl);
    // A streamed completion may take minutes between bytes; the client's own timeouts govern.
    this.server.requestTimeout = 0;
    this.server.headersTimeout = 60_000;
  }

  /** Listens on a free loopback port; resolves to the relay's base URL. */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    // Never what keeps the runner alive: it lives for one command, and close() follows its exit.
    this.server.unref();
    const { port } = this.server.address() as AddressInfo;
    this.listening = `http://127.0.0.1:${port}`;
    return this.listening;
  }

  get url(): string | undefined {
    return this.listening;
  }

  async close(): Promise<void> {
    if (!this.listening) return;
    this.listening = undefined;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.carriesKey(req)) {
      req.resume();
      return answer(res, 401, 'authentication_error', 'orgmesh model relay: this is not the key of this run');
    }
    let token: string;
    try {
      token = await this.options.tokens.token();
    } catch (error) {
      req.resume();
      return answer(
        res,
        503,
        'api_error',
        `orgmesh model relay: no current token for the agent: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !DROPPED_REQUEST_HEADERS.has(name)) headers[name] = value;
    }
    headers['authorization'] = `Bearer ${token}`;
    const send = this.target.protocol === 'https:' ? httpsRequest : httpRequest;
    const upstream = send(
      {
        protocol: this.target.protocol,
        hostname: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: joinPath(this.target.pathname, req.url ?? '/'),
        headers,
      },
      (reply) => {
        const replyHeaders: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(reply.headers)) {
          if (value !== undefined && !DROPPED_RESPONSE_HEADERS.has(name)) replyHeaders[name] = value;
        }
        res.writeHead(reply.statusCode ?? 502, replyHeaders);
        reply.pipe(res);
        reply.once('error', () => res.destroy());
      },
    );
    upstream.once('error', (error) => {
      if (res.headersSent) res.destroy();
      else
        answer(
          res,
          502,
          'api_error',
          `orgmesh model relay: the privacy proxy did not answer: ${error.message}`,
        );
    });
    // The client gone (cancelled a stream): stop the call upstream too.
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  private carriesKey(req: IncomingMessage): boolean {
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const apiKey = req.headers['x-api-key'];
    const given = bearer ?? (typeof apiKey === 'string' ? apiKey : undefined);
    if (given === undefined) return false;
    const a = Buffer.from(given.trim());
    const b = Buffer.from(this.key);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

/** `/base` + `/v1/messages?x` → `/base/v1/messages?x` (the privacy proxy may sit under a path). */
function joinPath(base: string, path: string): string {
  const trimmed = base.endsWith('/') ? base.slice(0, -1) : base;
  return `${trimmed}${path.startsWith('/') ? path : `/${path}`}`;
}

/** An error in the shape both Anthropic and OpenAI clients print (`error.message`). */
function answer(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ type: 'error', error: { type, message } }));
}
