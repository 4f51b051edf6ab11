import { runService } from '@orgmesh/telemetry';
import { loadMeshRouterConfig } from './mesh-router.config.js';
import { startMeshRouterApp } from './mesh-router.app.js';

const config = loadMeshRouterConfig();
await runService({
  service: 'mesh-router',
  config,
  start: (logger) => startMeshRouterApp(config, { logger, migrate: config.MIGRATE_ON_START }),
});
