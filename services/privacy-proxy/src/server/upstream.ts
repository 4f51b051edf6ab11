import type { IncomingMessage } from 'node:http';
import { AppError } from '@orgmesh/contracts';
import { startHttpClientSpan, type HttpClientSpan } from '@orgmesh/telemetry';
import { Agent } from 'undici';
import { allowListed, anthropicBeta, anthropicVersion, upstreamAccept } from '../http/upstream-headers.js';
import type { PrivacyProxyMetrics } from '../privacy-proxy.metrics.js';
import { dispatchCall, type UpstreamBody } from './upstream-dispatch.js';
import { headerValue, PRIVACY_PROXY_TRACER, type Exchange } from './exchange.js';
import type { PrivacyProxyOptions, Provider, UpstreamConfig } from './options.js';

/** The upstream's answer: status, one value per header, and the body stream. */
export interface UpstreamResponse {
  readonly status: number;
  header(name: string): string | undefined;
  readonly body: UpstreamBody;
}

/** The forward unit: the providers' URLs and headers, and one call with its timeout and client span. */
export class UpstreamClient {
  // One keep-alive pool per upstream origin; fetch's WHATWG layers cost more than the whole masking.
  private readonly dispatcher: Agent;

  constructor(
    private readonly options: Pick<PrivacyProxyOptions, 'openai' | 'anthropic'>,
    private readonly timeoutMs: number,
    private readonly metrics: PrivacyProxyMetrics,
  ) {
    this.dispatcher = new Agent({
      keepAliveTimeout: 30_000,
      connections: 256,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  }

  url(provider: Provider, path: string, query: string): string {
    const base = this.configOf(provider).url.replace(/\/+$/, '');
    if (provider === 'openai') return `${base}${path}${query}`;
    return `${base.endsWith('/v1') ? base : `${base}/v1`}${path}${query}`;
  }

  /** Sends the request; the exchange holds the client span, ended when the exchange ends. */
  async forward(
    x: Exchange,
    provider: Provider,
    url: string,
    init: { method: 'GET' | 'POST'; body?: string | Buffer },
  ): Promise<UpstreamResponse> {
    const abort = this.abortOnTimeoutOrHangUp(x, provider);
    const target = new URL(url);
    const clientSpan = startHttpClientSpan(PRIVACY_PROXY_TRACER, init.method, target, {
      'orgmesh.upstream.provider': provider,
    });
    const upstream: { span: HttpClientSpan; status?: number } = { span: clientSpan };
    x.upstream = upstream;
    try {
      // Not undici.request: upstream-dispatch.ts says why.
      const response = await dispatchCall(this.dispatcher, target, {
        method: init.method,
        // No trace context goes upstream: orgmesh's trace id would let the provider link a workflow's
        // calls (upstream-headers.ts). The client span stays in orgmesh's own trace.
        headers: allowListed(this.headers(provider, x.req)),
        ...(init.body !== undefined ? { body: init.body } : {}),
        signal: abort.signal,
      });
      upstream.status = response.status;
      const headers = response.headers;
      return {
        status: response.status,
        header: (name) => {
          const value = headers[name];
          return Array.isArray(value) ? value[0] : value;
        },
        body: response.body,
      };
    } catch (cause) {
      this.metrics.upstreamErrors.inc({ provider });
      const timedOut =
        abort.signal.aborted &&
        abort.signal.reason instanceof AppError &&
        abort.signal.reason.code === 'timeout';
      clientSpan.end({ error: timedOut ? 'timeout' : 'unavailable' });
      throw new AppError(
        timedOut ? 'timeout' : 'unavailable',
        `${provider} upstream ${timedOut ? 'timed out' : 'unreachable'}`,
        { cause },
      );
    }
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  /** Aborted when the upstream takes longer than the timeout, or when the client goes away first. */
  private abortOnTimeoutOrHangUp(x: Exchange, provider: Provider): AbortController {
    const abort = new AbortController();
    const timer = setTimeout(
      () => abort.abort(new AppError('timeout', `${provider} upstream timed out`)),
      this.timeoutMs,
    );
    timer.unref();
    x.res.once('close', () => {
      clearTimeout(timer);
      if (!x.res.writableFinished) abort.abort(new AppError('unavailable', 'client went away'));
    });
    return abort;
  }

  private configOf(provider: Provider): UpstreamConfig {
    const upstream = provider === 'openai' ? this.options.openai : this.options.anthropic;
    if (!upstream) throw new AppError('unavailable', `no ${provider} upstream is configured`);
    return upstream;
  }

  private headers(provider: Provider, req: IncomingMessage): Record<string, string> {
    const upstream = this.configOf(provider);
    // identity: the answer must be readable to be restored (and undici does not decompress).
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: upstreamAccept(headerValue(req, 'accept')),
      'accept-encoding': 'identity',
    };
    if (provider === 'openai') {
      if (upstream.key) headers['authorization'] = `Bearer ${upstream.key}`;
    } else {
      if (upstream.key) headers['x-api-key'] = upstream.key;
      headers['anthropic-version'] = anthropicVersion(headerValue(req, 'anthropic-version'));
      const beta = anthropicBeta(headerValue(req, 'anthropic-beta'));
      if (beta) headers['anthropic-beta'] = beta;
    }
    return headers;
  }
}
