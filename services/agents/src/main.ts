import { createLogger, startTracing } from '@orgmesh/telemetry';
import { loadAgentsConfig } from './agents.config.js';
import { startAgentsApp } from './agents.app.js';

const config = loadAgentsConfig();
const logger = createLogger({ service: `agent-${config.AGENT_ROLE}`, level: config.LOG_LEVEL });
// Before anything opens a connection: each delivery's handling joins the trace it came with.
const tracing = startTracing({
  service: config.OTEL_SERVICE_NAME ?? `agent-${config.AGENT_ROLE}`,
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  logger,
});
const app = await startAgentsApp(config, { logger });

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), config.AGENT_SHUTDOWN_GRACE + 10_000);
    force.unref();
    void app
      .close()
      .then(
        () => 0,
        () => 1,
      )
      .then(async (code) => {
        await tracing.shutdown().catch(() => undefined);
        process.exit(code);
      });
  });
}
