import {
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { AppError } from '@orgmesh/contracts';
import { extractTraceHeaders, injectTraceHeaders } from '@orgmesh/telemetry';

export const MESSAGING_TRACER = '@orgmesh/messaging';

function tracer() {
  // Looked up on every use: a service may register its SDK after connecting to the bus.
  return trace.getTracer(MESSAGING_TRACER);
}

/**
 * W3C trace context through NATS headers: the same `traceparent`/`tracestate` as over HTTP (the
 * wire format is fixed by the architecture, so the W3C propagator is used directly rather than
 * whatever global propagator happens to be set). With no OpenTelemetry SDK registered every span
 * is a no-op, yet an incoming `traceparent` is still passed on unchanged.
 */
export const injectTraceContext: (headers: Record<string, string>, ctx?: Context) => Record<string, string> =
  injectTraceHeaders;
/** The remote parent carried by `headers` (root context when there is none). */
export const extractTraceContext: (headers: Record<string, string>, base?: Context) => Context =
  extractTraceHeaders;

export type MessagingOperation = 'publish' | 'request' | 'serve' | 'consume';

function baseAttributes(operation: MessagingOperation, destination: string, extra: Attributes): Attributes {
  return {
    'messaging.system': 'nats',
    'messaging.destination.name': destination,
    'messaging.operation.name': operation,
    'messaging.operation.type': operation === 'publish' || operation === 'request' ? 'send' : 'process',
    ...extra,
  };
}

/** A messaging span (OpenTelemetry messaging conventions) under `parent`. */
function startSpan(
  name: string,
  kind: SpanKind,
  operation: MessagingOperation,
  destination: string,
  attributes: Attributes,
  parent: Context,
): Span {
  return tracer().startSpan(
    name,
    { kind, attributes: baseAttributes(operation, destination, attributes) },
    parent,
  );
}

function recordFailure(span: Span, error: unknown): void {
  if (error instanceof AppError) {
    span.setAttribute('error.type', error.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.code });
  } else {
    span.setAttribute('error.type', error instanceof Error ? error.name : 'unknown');
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  if (error instanceof Error) span.recordException(error);
}

/**
 * Runs `send` inside a PRODUCER (publish) or CLIENT (request) span that is a child of the active
 * span (or, when none is active, of the trace already in `headers`), after injecting that span's
 * context into `headers`.
 */
export async function withSendSpan<T>(
  operation: 'publish' | 'request',
  destination: string,
  headers: Record<string, string>,
  attributes: Attributes,
  send: () => Promise<T>,
): Promise<T> {
  // Headers that already carry a trace (an outbox row) continue it when nothing is active here.
  const active = context.active();
  const parent = trace.getSpan(active) ? active : extractTraceContext(headers, active);
  const kind = operation === 'publish' ? SpanKind.PRODUCER : SpanKind.CLIENT;
  const span = startSpan(`${operation} ${destination}`, kind, operation, destination, attributes, parent);
  const ctx = trace.setSpan(parent, span);
  injectTraceContext(headers, ctx);
  return runInSpan(span, ctx, send);
}

/**
 * Runs a handler inside a SERVER (serve) or CONSUMER (consume) span whose parent is the trace
 * context extracted from the message headers, so the handler's own spans and logs join the
 * caller's trace.
 */
export async function withProcessSpan<T>(
  operation: 'serve' | 'consume',
  destination: string,
  headers: Record<string, string>,
  attributes: Attributes,
  handle: () => Promise<T>,
): Promise<T> {
  const parent = extractTraceContext(headers);
  const name = `${operation === 'serve' ? 'serve' : 'process'} ${destination}`;
  const kind = operation === 'serve' ? SpanKind.SERVER : SpanKind.CONSUMER;
  const span = startSpan(name, kind, operation, destination, attributes, parent);
  return runInSpan(span, trace.setSpan(parent, span), handle);
}

/** Runs `work` in `ctx` (whose active span is `span`), records its failure on the span, and ends it. */
async function runInSpan<T>(span: Span, ctx: Context, work: () => Promise<T>): Promise<T> {
  try {
    return await context.with(ctx, work);
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}
