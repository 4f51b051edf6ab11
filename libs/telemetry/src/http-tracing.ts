import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/**
 * HTTP spans by hand (the services run node:http and undici directly; no auto-instrumentation).
 * Attributes are limited to method, route template, status and the peer's host: never a raw
 * path, a query string, a header value or a body, any of which may carry personal data.
 */
const propagator = new W3CTraceContextPropagator();

type HeaderBag = Record<string, string | string[] | undefined>;

const getter: TextMapGetter<HeaderBag> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key] ?? carrier[key.toLowerCase()],
};

const setter: TextMapSetter<Record<string, string>> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

/**
 * The remote parent in incoming headers (`traceparent`/`tracestate`), or the root context. The
 * W3C format is the architecture's for HTTP and NATS headers alike (the messaging lib uses these).
 */
export function extractTraceHeaders(headers: HeaderBag, base: Context = ROOT_CONTEXT): Context {
  return propagator.extract(base, headers, getter);
}

/** Writes `traceparent`/`tracestate` of `ctx` (default: the active one) into outgoing headers; returns them. */
export function injectTraceHeaders(
  headers: Record<string, string>,
  ctx: Context = context.active(),
): Record<string, string> {
  propagator.inject(ctx, headers, setter);
  return headers;
}

export interface HttpServerSpan {
  readonly span: Span;
  /** The context to run the handler in (its spans and log lines join the request's trace). */
  readonly context: Context;
  /** Names the span `<METHOD> <route>`, records the status (5xx is an error) and ends it. Idempotent. */
  end(route: string, status: number): void;
}

/** Starts the SERVER span of one incoming request, child of the caller's `traceparent`. */
export function startHttpServerSpan(
  tracerName: string,
  method: string,
  headers: HeaderBag,
  attributes: Attributes = {},
): HttpServerSpan {
  const parent = extractTraceHeaders(headers);
  const span = trace
    .getTracer(tracerName)
    .startSpan(
      method,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, ...attributes } },
      parent,
    );
  let ended = false;
  return {
    span,
    context: trace.setSpan(parent, span),
    end(route, status) {
      if (ended) return;
      ended = true;
      span.updateName(`${method} ${route}`);
      span.setAttributes({ 'http.route': route, 'http.response.status_code': status });
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
  };
}

export interface HttpClientSpan {
  readonly span: Span;
  readonly context: Context;
  /** Records the response status (or the failure) and ends the span. Idempotent. */
  end(outcome: { status: number } | { error: string }): void;
}

/**
 * Starts the CLIENT span of an outgoing request, child of the active span. Inject its context
 * into the request headers with `injectTraceHeaders(headers, clientSpan.context)`.
 */
export function startHttpClientSpan(
  tracerName: string,
  method: string,
  url: URL,
  attributes: Attributes = {},
): HttpClientSpan {
  const active = context.active();
  const span = trace.getTracer(tracerName).startSpan(
    method,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': method,
        'server.address': url.hostname,
        'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
        ...attributes,
      },
    },
    active,
  );
  let ended = false;
  return {
    span,
    context: trace.setSpan(active, span),
    end(outcome) {
      if (ended) return;
      ended = true;
      if ('status' in outcome) {
        span.setAttribute('http.response.status_code', outcome.status);
        if (outcome.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
      } else {
        span.setAttribute('error.type', outcome.error);
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    },
  };
}
