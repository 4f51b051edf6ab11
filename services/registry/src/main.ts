import { createLogger } from '@orgmesh/telemetry';
import { loadRegistryConfig } from './registry.config.js';
import { startRegistryApp } from './registry.app.js';

const config = loadRegistryConfig();
const logger = createLogger({ service: 'registry', level: config.LOG_LEVEL });
const app = await startRegistryApp(config, { logger, migrate: process.env['MIGRATE_ON_START'] === 'true' });

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
