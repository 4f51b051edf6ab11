import { runService } from '@orgmesh/telemetry';
import { loadRemoteAgentConfig } from './remote-agent.config.js';
import { startRemoteAgentApp } from './remote-agent.app.js';

const config = loadRemoteAgentConfig();
// One process per remote A2A agent of the registry (AGENT_ID); ADR 0021.
await runService({
  service: `remote-agent-${config.AGENT_ID}`,
  config,
  forceExitAfterMs: config.AGENT_SHUTDOWN_GRACE + 10_000,
  start: (logger) => startRemoteAgentApp(config, { logger }),
});
