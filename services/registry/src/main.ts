import { runService } from '@orgmesh/telemetry';
import { loadRegistryConfig } from './registry.config.js';
import { startRegistryApp } from './registry.app.js';

const config = loadRegistryConfig();
await runService({
  service: 'registry',
  config,
  start: (logger) => startRegistryApp(config, { logger, migrate: config.MIGRATE_ON_START }),
});
