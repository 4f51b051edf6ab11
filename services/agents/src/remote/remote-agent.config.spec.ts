import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@orgmesh/config';
import { loadRemoteAgentConfig } from './remote-agent.config.js';

describe('remote-agent config', () => {
  it('needs the agent id; the dev secret and durations default', () => {
    const config = loadRemoteAgentConfig({ AGENT_ID: 'outside-counsel-agent' });
    expect(config).toMatchObject({
      AGENT_ID: 'outside-counsel-agent',
      AGENT_CLIENT_SECRET: 'outside-counsel-agent-dev-secret',
      devSecret: true,
      A2A_CARD_TIMEOUT: 5_000,
      A2A_MAX_CALL: 600_000,
      A2A_POLL_INTERVAL: 500,
      A2A_LIVENESS_INTERVAL: 10_000,
      A2A_LIVENESS_TIMEOUT: 3_000,
      A2A_PRIVACY_TIMEOUT: 10_000,
      AGENT_HEARTBEAT_INTERVAL: 15_000,
      AGENTS_HTTP_PORT: 8105,
    });
    expect(config.oidc).toBeUndefined();
  });

  it('refuses a missing or malformed agent id and a bare duration, naming the key', () => {
    expect(() => loadRemoteAgentConfig({})).toThrow(ConfigError);
    expect(() => loadRemoteAgentConfig({ AGENT_ID: 'Outside Counsel' })).toThrow(/AGENT_ID/);
    expect(() => loadRemoteAgentConfig({ AGENT_ID: 'counsel', A2A_MAX_CALL: '30' })).toThrow(/A2A_MAX_CALL/);
  });
});
