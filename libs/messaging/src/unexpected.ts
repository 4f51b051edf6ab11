import { trace } from '@opentelemetry/api';
import { extractTraceHeaders } from '@orgmesh/telemetry';

/** The edges the bus counts unexpected errors for (label `edge` of orgmesh_unexpected_errors_total). */
export type BusEdge = 'nats-rpc' | 'nats-event';

/**
 * The trace id the caller sent in `traceparent`, for log lines written outside the handler's
 * span (the last-resort paths run after it ended).
 */
export function traceIdOf(headers: Record<string, string>): string | undefined {
  const spanContext = trace.getSpanContext(extractTraceHeaders(headers));
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}
