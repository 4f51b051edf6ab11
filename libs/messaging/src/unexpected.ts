import { trace } from '@opentelemetry/api';
import { extractTraceHeaders } from '@orgmesh/telemetry';

/** The edges the bus counts unexpected errors for (label `edge` of orgmesh_unexpected_errors_total). */
export type BusEdge = 'nats-rpc' | 'nats-event';

/**
 * What is logged about an error nobody anticipated: its type, a driver's error code if any, and
 * the stack frames. Not its message: a JSON parse error, a Postgres constraint error or a thrown
 * validation issue may quote the payload, and payloads may hold personal data.
 */
export function unexpectedErrorFields(error: unknown): {
  errorType: string;
  errorCode?: string;
  stack?: string;
} {
  if (!(error instanceof Error)) return { errorType: typeof error };
  const code = (error as { code?: unknown }).code;
  const frames = (error.stack ?? '')
    .split('\n')
    .filter((line) => line.startsWith('    at '))
    .map((line) => line.trim());
  return {
    errorType: error.name || error.constructor.name,
    ...(typeof code === 'string' ? { errorCode: code } : {}),
    ...(frames.length > 0 ? { stack: frames.join('\n') } : {}),
  };
}

/**
 * The trace id the caller sent in `traceparent`, for log lines written outside the handler's
 * span (the last-resort paths run after it ended).
 */
export function traceIdOf(headers: Record<string, string>): string | undefined {
  const spanContext = trace.getSpanContext(extractTraceHeaders(headers));
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}
