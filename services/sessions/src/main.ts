import { createLogger } from '@orgmesh/telemetry';
import { loadSessionsConfig } from './sessions.config.js';
import { startSessionsApp } from './sessions.app.js';

const config = loadSessionsConfig();
const logger = createLogger({ service: 'sessions', level: config.LOG_LEVEL });
const app = await startSessionsApp(config, { logger, migrate: process.env['MIGRATE_ON_START'] === 'true' });

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
