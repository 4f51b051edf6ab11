import { createLogger, startTracing } from '@orgmesh/telemetry';
import { loadRegistryConfig } from './registry.config.js';
import { startRegistryApp } from './registry.app.js';

const config = loadRegistryConfig();
const logger = createLogger({ service: 'registry', level: config.LOG_LEVEL });
// Before anything opens a connection: every span from here on reaches the exporter.
const tracing = startTracing({
  service: config.OTEL_SERVICE_NAME ?? 'registry',
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  logger,
});
const app = await startRegistryApp(config, { logger, migrate: process.env['MIGRATE_ON_START'] === 'true' });

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
