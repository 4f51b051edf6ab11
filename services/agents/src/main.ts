import { createLogger } from '@orgmesh/telemetry';
import { loadAgentsConfig } from './agents.config.js';
import { startAgentsApp } from './agents.app.js';

const config = loadAgentsConfig();
const logger = createLogger({ service: `agent-${config.AGENT_ROLE}`, level: config.LOG_LEVEL });
const app = await startAgentsApp(config, { logger });

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), config.AGENT_SHUTDOWN_GRACE + 10_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
