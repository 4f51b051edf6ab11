import { createLogger } from '@orgmesh/telemetry';
import { loadMeshRouterConfig } from './mesh-router.config.js';
import { startMeshRouterApp } from './mesh-router.app.js';

const config = loadMeshRouterConfig();
const logger = createLogger({ service: 'mesh-router', level: config.LOG_LEVEL });
const app = await startMeshRouterApp(config, { logger, migrate: process.env['MIGRATE_ON_START'] === 'true' });

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
