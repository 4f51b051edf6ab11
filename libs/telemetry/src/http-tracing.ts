import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type Context,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { startChildSpan, type ChildSpan } from './child-span.js';

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

/**
 * The parent of an outgoing message's span: the active context when a span is active in it, else the
 * trace its headers already carry (one written earlier, e.g. an outbox row) on top of the active context.
 */
export function activeOrHeaderParent(headers: HeaderBag): Context {
  const active = context.active();
  return trace.getSpan(active) ? active : extractTraceHeaders(headers, active);
}

/** A child span whose `end(…)` records how it ended, then ends the span; a second call does nothing. */
interface EndOnceSpan<A extends unknown[]> extends ChildSpan {
  end(...outcome: A): void;
}

function endOnce<A extends unknown[]>(child: ChildSpan, record: (...outcome: A) => void): EndOnceSpan<A> {
  let ended = false;
  return {
    ...child,
    end(...outcome) {
      if (ended) return;
      ended = true;
      record(...outcome);
      child.span.end();
    },
  };
}

/** An HTTP span: named by its method until the route is known, which it records as `http.request.method`. */
function startHttpSpan(
  tracerName: string,
  method: string,
  kind: SpanKind,
  attributes: Attributes,
  parent: Context,
): ChildSpan {
  return startChildSpan(
    tracerName,
    method,
    { kind, attributes: { 'http.request.method': method, ...attributes } },
    parent,
  );
}

/**
 * An incoming request's span; its `context` is the one to run the handler in (its spans and log
 * lines join the request's trace).
 */
export interface HttpServerSpan extends ChildSpan {
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
  const child = startHttpSpan(tracerName, method, SpanKind.SERVER, attributes, extractTraceHeaders(headers));
  return endOnce(child, (route: string, status: number) => {
    child.span.updateName(`${method} ${route}`);
    child.span.setAttributes({ 'http.route': route, 'http.response.status_code': status });
    if (status >= 500) child.span.setStatus({ code: SpanStatusCode.ERROR });
  });
}

export interface HttpClientSpan extends ChildSpan {
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
  const child = startHttpSpan(
    tracerName,
    method,
    SpanKind.CLIENT,
    {
      'server.address': url.hostname,
      'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
      ...attributes,
    },
    context.active(),
  );
  return endOnce(child, (outcome: { status: number } | { error: string }) => {
    if ('status' in outcome) {
      child.span.setAttribute('http.response.status_code', outcome.status);
      if (outcome.status >= 400) child.span.setStatus({ code: SpanStatusCode.ERROR });
    } else {
      child.span.setAttribute('error.type', outcome.error);
      child.span.setStatus({ code: SpanStatusCode.ERROR });
    }
  });
}
