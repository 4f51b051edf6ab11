import { runService } from '@orgmesh/telemetry';
import { loadPrivacyProxyConfig } from './privacy-proxy.config.js';
import { startPrivacyProxyApp } from './privacy-proxy.app.js';

const config = loadPrivacyProxyConfig();
await runService({
  service: 'privacy-proxy',
  config,
  // A drain that has not finished by then must not hang an orchestrator's rollout.
  forceExitAfterMs: 10_000,
  start: (logger) => startPrivacyProxyApp(config, { logger }),
});
