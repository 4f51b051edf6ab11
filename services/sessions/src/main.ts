import { createLogger, startTracing } from '@orgmesh/telemetry';
import { loadSessionsConfig } from './sessions.config.js';
import { startSessionsApp } from './sessions.app.js';

const config = loadSessionsConfig();
const logger = createLogger({ service: 'sessions', level: config.LOG_LEVEL });
// Before anything opens a connection: every span from here on reaches the exporter.
const tracing = startTracing({
  service: config.OTEL_SERVICE_NAME ?? 'sessions',
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  logger,
});
const app = await startSessionsApp(config, { logger, migrate: process.env['MIGRATE_ON_START'] === 'true' });

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
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
