import { pino, type Logger, type DestinationStream } from 'pino';
import { trace } from '@opentelemetry/api';

export type { Logger } from 'pino';

/** The level of a logger created without one. */
export const DEFAULT_LOG_LEVEL = 'info';

/**
 * JSON logs with constant messages and fields; the active trace and span ids are added to every
 * line so logs join traces. Callers never pass bodies, tokens or protected values.
 *
 * `level` comes from the caller's parsed config (LOG_LEVEL of telemetryEnv); without one the level
 * is DEFAULT_LOG_LEVEL. The environment is not read here: a process's config is parsed once, in its
 * config file, so a bad LOG_LEVEL is a ConfigError naming the key rather than a pino throw.
 */
export function createLogger(options: { service: string; level?: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level ?? DEFAULT_LOG_LEVEL,
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Defence in depth: even if a caller passes one of these by mistake, it is not written.
      redact: {
        paths: ['authorization', 'token', 'password', 'secret', 'body', '*.authorization', '*.token', '*.body', 'headers.authorization'],
        censor: '[redacted]',
      },
      serializers: { err: safeErrorFields, error: safeErrorFields },
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

/**
 * What a log line keeps of an error passed as `err`: its type, message, code and stack, and its
 * cause's, never its other properties. pino's standard serializer copies every enumerable property,
 * and drivers hang live objects on their errors: a pg pool error carried the client, with its
 * connection parameters and cancel key, into the outbox relay's warning.
 */
export function safeErrorFields(error: unknown, depth = 0): Record<string, unknown> | unknown {
  if (!(error instanceof Error)) {
    // Already shaped by the caller (e.g. `{ name, code }`): its plain values, no nested objects.
    if (typeof error !== 'object' || error === null) return error;
    return Object.fromEntries(
      Object.entries(error).filter(([, value]) => ['string', 'number', 'boolean'].includes(typeof value)),
    );
  }
  const fields: Record<string, unknown> = { type: error.name || error.constructor.name, message: error.message };
  for (const key of ['code', 'errno', 'syscall'] as const) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (typeof value === 'string' || typeof value === 'number') fields[key] = value;
  }
  if (error.stack) fields['stack'] = error.stack;
  if (error.cause !== undefined && depth < 3) fields['cause'] = safeErrorFields(error.cause, depth + 1);
  return fields;
}
