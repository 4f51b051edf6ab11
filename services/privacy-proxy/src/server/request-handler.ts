import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '@orgmesh/contracts';
import { context } from '@opentelemetry/api';
import { startHttpServerSpan } from '@orgmesh/telemetry';
import { GovernanceRefusal } from '../governance/ledger.js';
import { sendProblem, sendProviderError, toAppError } from '../http/http-io.js';
import { completion } from './completion.js';
import type { ProxyContext } from './context.js';
import {
  headerValue,
  providerOf,
  PRIVACY_PROXY_TRACER,
  requestIdOf,
  ROUTE_PATHS,
  routeOf,
  type Exchange,
} from './exchange.js';
import { health, metricsEndpoint } from './health.js';
import { models } from './models.js';
import { unexpected } from './unexpected.js';
import { utility } from './utility.js';

/**
 * The node:http request listener: opens the exchange (request id, server span), dispatches by route,
 * answers errors in the route's shape, and closes the exchange with one log line and its metrics.
 */
export function requestListener(ctx: ProxyContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    try {
      accept(ctx, req, res);
    } catch (error) {
      // Last resort: even setting up the exchange failed. Answer, count, log once; keep serving.
      unexpected(ctx, error, undefined);
      if (!res.headersSent) sendProviderError(res, 'openai', new AppError('internal', 'internal error'));
      else res.destroy();
    }
  };
}

function accept(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse): void {
  const route = routeOf(req);
  const traced = route !== 'health' && route !== 'metrics';
  const exchange: Exchange = {
    req,
    res,
    route,
    requestId: requestIdOf(headerValue(req, 'x-request-id')),
    started: process.hrtime.bigint(),
    log: {},
    span: traced ? startHttpServerSpan(PRIVACY_PROXY_TRACER, req.method ?? 'GET', req.headers) : undefined,
  };
  res.setHeader('x-request-id', exchange.requestId);
  // The closing log line runs in the request's context too, so it carries the trace id.
  const run = () =>
    dispatch(ctx, exchange)
      .then(
        () => finish(ctx, exchange),
        (error: unknown) => {
          if (!(error instanceof AppError)) unexpected(ctx, error, exchange);
          fail(exchange, toAppError(error));
          finish(ctx, exchange);
        },
      )
      .catch((failure: unknown) => {
        // Answering or closing failed too (a bug in the error path, in metrics or logging): end the
        // connection. Never an unhandled rejection, which would take the process down.
        unexpected(ctx, failure, exchange);
        res.destroy();
      });
  void (exchange.span ? context.with(exchange.span.context, run) : run());
}

async function dispatch(ctx: ProxyContext, x: Exchange): Promise<void> {
  switch (x.route) {
    case 'health':
      return health(ctx, x);
    case 'metrics':
      return metricsEndpoint(ctx, x);
    case 'models':
      return models(ctx, x);
    case 'openai.chat.completions':
      return completion(ctx, x, 'openai', true);
    case 'anthropic.messages':
      return completion(ctx, x, 'anthropic', true);
    case 'anthropic.count_tokens':
      return completion(ctx, x, 'anthropic', false);
    case 'privacy.scan':
    case 'privacy.mask':
      return utility(ctx, x);
    case 'not_found':
      throw new AppError('not_found', 'no such endpoint');
  }
}

function fail(x: Exchange, error: AppError): void {
  x.log['code'] = error.code;
  if (x.res.headersSent) {
    // Mid-stream: the status is gone; end the stream (restorers already flushed safely).
    x.res.end();
    return;
  }
  const provider = providerOf(x);
  if (error instanceof GovernanceRefusal) {
    if (error.retryAfterSeconds !== undefined)
      x.res.setHeader('retry-after', String(error.retryAfterSeconds));
    // The official SDKs retry 429 and 503 unless told not to: a spent budget does not come back in seconds.
    x.res.setHeader('x-should-retry', error.final ? 'false' : 'true');
  }
  if (provider) sendProviderError(x.res, provider, error);
  else sendProblem(x.res, error);
}

/** The one log line, the request metrics, and the spans' last attributes. */
function finish(ctx: ProxyContext, x: Exchange): void {
  const seconds = Number(process.hrtime.bigint() - x.started) / 1e9;
  const status = x.res.statusCode;
  ctx.metrics.requests.inc({ route: x.route, status: String(status) });
  if (x.route !== 'health' && x.route !== 'metrics')
    ctx.metrics.duration.observe({ route: x.route }, seconds);
  const fields = {
    requestId: x.requestId,
    route: x.route,
    status,
    durationMs: Math.round(seconds * 1e4) / 10,
    ...x.log,
  };
  if (status >= 500) ctx.logger.warn(fields, 'request failed');
  else if (x.route !== 'health' && x.route !== 'metrics') ctx.logger.info(fields, 'request completed');
  endSpans(x, status);
}

function endSpans(x: Exchange, status: number): void {
  if (x.genai) {
    for (const [key, value] of Object.entries(x.genai)) {
      x.span?.span.setAttribute(key, value);
      x.upstream?.span.span.setAttribute(key, value);
    }
  }
  if (x.upstream) {
    const upstream = x.upstream;
    upstream.span.end(x.log['streamError'] ? { error: 'stream_broken' } : { status: upstream.status ?? 0 });
  }
  if (x.span) {
    // Counts and outcomes only: what was found is never named with its value.
    if (typeof x.log['entities'] === 'number')
      x.span.span.setAttribute('orgmesh.privacy.entities', x.log['entities']);
    if (typeof x.log['outcome'] === 'string')
      x.span.span.setAttribute('orgmesh.privacy.outcome', x.log['outcome']);
    if (typeof x.log['code'] === 'string') x.span.span.setAttribute('error.type', x.log['code']);
    x.span.end(ROUTE_PATHS[x.route], status);
  }
}
