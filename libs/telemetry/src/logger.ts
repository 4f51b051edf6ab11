import { pino, type Logger, type DestinationStream } from 'pino';
import { trace } from '@opentelemetry/api';

export type { Logger } from 'pino';

/**
 * JSON logs with constant messages and fields; the active trace and span ids are added to every
 * line so logs join traces. Callers never pass bodies, tokens or protected values.
 */
export function createLogger(options: { service: string; level?: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level ?? process.env['LOG_LEVEL'] ?? 'info',
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Defence in depth: even if a caller passes one of these by mistake, it is not written.
      redact: {
        paths: ['authorization', 'token', 'password', 'secret', 'body', '*.authorization', '*.token', '*.body', 'headers.authorization'],
        censor: '[redacted]',
      },
      mixin() {
        const span = trace.getActiveSpan();
        if (!span) return {};
        const ctx = span.spanContext();
        return { traceId: ctx.traceId, spanId: ctx.spanId };
      },
    },
    options.destination,
  );
}
