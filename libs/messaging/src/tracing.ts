import { SpanKind, type Attributes, type Context } from '@opentelemetry/api';
import { AppError } from '@orgmesh/contracts';
import {
  activeOrHeaderParent,
  extractTraceHeaders,
  injectTraceHeaders,
  runInChildSpan,
  startChildSpan,
  type SpanFailure,
} from '@orgmesh/telemetry';

export const MESSAGING_TRACER = '@orgmesh/messaging';

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

/**
 * The span of each operation (OpenTelemetry messaging conventions): its kind, the verb its name starts
 * with, and whether it sends (the caller's side: its span's context goes out in the message headers)
 * or processes a message received (its span continues the trace in the message headers).
 */
const OPERATIONS: Readonly<Record<MessagingOperation, { kind: SpanKind; verb: string; sends: boolean }>> = {
  publish: { kind: SpanKind.PRODUCER, verb: 'publish', sends: true },
  request: { kind: SpanKind.CLIENT, verb: 'request', sends: true },
  serve: { kind: SpanKind.SERVER, verb: 'serve', sends: false },
  consume: { kind: SpanKind.CONSUMER, verb: 'process', sends: false },
};

/** An orgmesh error by its stable code (also the status message); anything else by its type only. */
function failureOf(error: unknown): SpanFailure {
  if (error instanceof AppError) return { type: error.code, message: error.code };
  return { type: error instanceof Error ? error.name : 'unknown' };
}

/**
 * Runs `work` inside the messaging span of `operation` on `destination`. A send (publish: PRODUCER,
 * request: CLIENT) is a child of the active span or, when none is active, of the trace already in
 * `headers` (an outbox row continues it), and injects its own context into `headers`. Processing
 * (serve: SERVER, consume: CONSUMER) is a child of the trace extracted from the message headers, so
 * the handler's own spans and logs join the caller's trace.
 */
export async function withMessagingSpan<T>(
  operation: MessagingOperation,
  destination: string,
  headers: Record<string, string>,
  attributes: Attributes,
  work: () => Promise<T>,
): Promise<T> {
  const { kind, verb, sends } = OPERATIONS[operation];
  const parent = sends ? activeOrHeaderParent(headers) : extractTraceContext(headers);
  const child = startChildSpan(
    MESSAGING_TRACER,
    `${verb} ${destination}`,
    {
      kind,
      attributes: {
        'messaging.system': 'nats',
        'messaging.destination.name': destination,
        'messaging.operation.name': operation,
        'messaging.operation.type': sends ? 'send' : 'process',
        ...attributes,
      },
    },
    parent,
  );
  if (sends) injectTraceContext(headers, child.context);
  return runInChildSpan(child, work, failureOf);
}
