import { createLogger, type Logger } from './logger.js';
import { startTracing } from './tracing.js';

/** The config keys every service's schema shares with the process runner. */
export interface ServiceRuntimeConfig {
  LOG_LEVEL: string;
  OTEL_SERVICE_NAME?: string | undefined;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
}

/**
 * A service process's main: JSON logger, tracing started before any connection opens, the app,
 * and a graceful stop on SIGINT/SIGTERM (the app's close, then a span flush, then exit 0 — or 1
 * when close failed). A second signal while stopping is ignored. With `forceExitAfterMs`, a close
 * that has not finished by then exits 1 anyway (a stop must not hang an orchestrator's rollout).
 */
export async function runService(options: {
  service: string;
  config: ServiceRuntimeConfig;
  start: (logger: Logger) => Promise<{ close(): Promise<void> }>;
  forceExitAfterMs?: number;
}): Promise<void> {
  const { service, config } = options;
  const logger = createLogger({ service, level: config.LOG_LEVEL });
  const tracing = startTracing({
    service: config.OTEL_SERVICE_NAME ?? service,
    otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    logger,
  });
  const app = await options.start(logger);
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      if (options.forceExitAfterMs !== undefined) {
        setTimeout(() => process.exit(1), options.forceExitAfterMs).unref();
      }
      void app
        .close()
        .then(
          () => 0,
          () => 1,
        )
        .then(async (code) => {
          // Flushes the spans of the shutdown itself too.
          await tracing.shutdown().catch(() => undefined);
          process.exit(code);
        });
    });
  }
}
