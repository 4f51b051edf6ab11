import { runService } from '@orgmesh/telemetry';
import { loadAgentsConfig } from './agents.config.js';
import { startAgentsApp } from './agents.app.js';

const config = loadAgentsConfig();
// runService starts tracing before the app opens a connection: each delivery's handling joins the
// trace it came with. A stop waits for the running task handlers (AGENT_SHUTDOWN_GRACE), not forever.
await runService({
  service: `agent-${config.AGENT_ROLE}`,
  config,
  forceExitAfterMs: config.AGENT_SHUTDOWN_GRACE + 10_000,
  start: (logger) => startAgentsApp(config, { logger }),
});
