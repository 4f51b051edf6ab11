import { runService } from '@orgmesh/telemetry';
import { loadSessionsConfig } from './sessions.config.js';
import { startSessionsApp } from './sessions.app.js';

const config = loadSessionsConfig();
await runService({
  service: 'sessions',
  config,
  start: (logger) => startSessionsApp(config, { logger, migrate: config.MIGRATE_ON_START }),
});
