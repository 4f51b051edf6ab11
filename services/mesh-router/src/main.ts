import { runService } from '@orgmesh/telemetry';
import { loadMeshRouterConfig } from './mesh-router.config.js';
import { startMeshRouterApp } from './mesh-router.app.js';

const config = loadMeshRouterConfig();
await runService({
  service: 'mesh-router',
  config,
  start: (logger) => startMeshRouterApp(config, { logger, migrate: process.env['MIGRATE_ON_START'] === 'true' }),
});
