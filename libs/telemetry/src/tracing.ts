import { context, diag, propagation, trace, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  TracerProvider,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';

export interface TracingOptions {
  /** `service.name` of every span (OTEL_SERVICE_NAME, when the service's config has it, wins). */
  service: string;
  /**
   * OTLP/HTTP base URL (the service's OTEL_EXPORTER_OTLP_ENDPOINT, e.g. `http://collector:4318`);
   * spans are batched to `<endpoint>/v1/traces`. Unset: nothing leaves the process.
   */
  otlpEndpoint?: string;
  /** An extra exporter fed span by span (tests: an InMemorySpanExporter). */
  exporter?: SpanExporter;
  /** Where the SDK's own warnings go (export failures); default: nowhere. */
  logger?: Logger;
}

export interface Tracing {
  readonly provider: TracerProvider;
  /** Exports what is buffered now. */
  forceFlush(): Promise<void>;
  /** Flushes and stops exporting, then unregisters the global provider, context manager and propagator. */
  shutdown(): Promise<void>;
}

let active: Tracing | undefined;

/**
 * Registers the OpenTelemetry SDK for this process: a TracerProvider (service name as the
 * resource), AsyncLocalStorage context propagation (so spans started inside a handler join its
 * trace, and log lines carry its ids), and the W3C trace-context and baggage propagators. Spans
 * are exported over OTLP/HTTP in batches when an endpoint is given, and to `exporter` when given;
 * with neither, spans still exist (trace ids reach logs and NATS headers) and are dropped.
 * Call it first thing in `main.ts`, once per process; a second call while one is active is refused.
 */
export function startTracing(options: TracingOptions): Tracing {
  if (active) throw new Error('tracing is already started in this process');
  const processors: SpanProcessor[] = [];
  if (options.otlpEndpoint) {
    const exporter = new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` });
    processors.push(new BatchSpanProcessor({ exporter }));
  }
  if (options.exporter) processors.push(new SimpleSpanProcessor({ exporter: options.exporter }));
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.service }),
    spanProcessors: processors,
  });
  if (options.logger) diag.setLogger(diagLogger(options.logger), DiagLogLevel.WARN);
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  let stopping: Promise<void> | undefined;
  const tracing: Tracing = {
    provider,
    forceFlush: () => provider.forceFlush(),
    shutdown() {
      stopping ??= (async () => {
        try {
          await provider.shutdown();
        } finally {
          trace.disable();
          propagation.disable();
          context.disable();
          diag.disable();
          if (active === tracing) active = undefined;
        }
      })();
      return stopping;
    },
  };
  active = tracing;
  return tracing;
}

function diagLogger(logger: Logger): DiagLogger {
  // The SDK's messages are its own (export failures, dropped spans); never request data.
  const write =
    (level: 'error' | 'warn' | 'info' | 'debug' | 'trace') =>
    (message: string, ...args: unknown[]) =>
      logger[level](
        { otel: message, args: args.map((a) => (a instanceof Error ? a.message : typeof a)) },
        'opentelemetry sdk',
      );
  return {
    error: write('error'),
    warn: write('warn'),
    info: write('info'),
    debug: write('debug'),
    verbose: write('trace'),
  };
}
