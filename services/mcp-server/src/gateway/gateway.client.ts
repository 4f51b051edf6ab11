import { readJsonAnswer } from '@orgmesh/service-host/http-edge';
import { errorFromResponse, GatewayError } from './gateway.errors.js';
import { unreachable, type TokenSource } from './token.provider.js';

export interface GatewayRequest {
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  /** Sent as `Idempotency-Key`: a repeated create returns the first result. */
  readonly idempotencyKey?: string;
}

export interface GatewayClientOptions {
  readonly gatewayUrl: string;
  readonly tokens: TokenSource;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/**
 * JSON over the gateway's REST API (`/v1`, ARCHITECTURE §9) with a bearer token. A 401 renews the
 * token once and repeats the call (same idempotency key); any other error answer becomes a
 * GatewayError carrying the problem's `code`, `detail` and extension members.
 */
export class GatewayClient {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: GatewayClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  get gatewayUrl(): string {
    return this.options.gatewayUrl;
  }

  async request<T>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    request: GatewayRequest = {},
  ): Promise<T> {
    const url = new URL(`${this.options.gatewayUrl}${path}`);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    let res = await this.send(method, url, request, await this.options.tokens.token());
    if (res.status === 401) {
      await res.body?.cancel();
      res = await this.send(method, url, request, await this.options.tokens.token(true));
    }
    const { text, json: body } = await readJsonAnswer(res);
    if (!res.ok) throw errorFromResponse(res.status, body);
    if (text && body === undefined)
      throw new GatewayError(
        'internal',
        `the gateway answered ${method} ${path} with malformed JSON`,
        res.status,
      );
    return body as T;
  }

  private async send(method: string, url: URL, request: GatewayRequest, token: string): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${token}` };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    if (request.idempotencyKey) headers['idempotency-key'] = request.idempotencyKey;
    try {
      return await this.fetch(url, {
        method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 15_000),
      });
    } catch (error) {
      throw unreachable(this.options.gatewayUrl, error);
    }
  }
}
