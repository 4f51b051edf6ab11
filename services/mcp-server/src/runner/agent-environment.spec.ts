import { describe, expect, it } from '@jest/globals';
import { agentEnvironment, type AgentEnvironmentInput } from './agent-environment.js';

const input: AgentEnvironmentInput = {
  base: {
    PATH: '/usr/bin',
    HOME: '/home/op',
    ANTHROPIC_API_KEY: 'sk-ant-real',
    OPENAI_API_KEY: 'sk-real',
    NATS_SUBJECT_PREFIX: 'stale.',
    UNSET: undefined,
  },
  agentId: 'legal-agent',
  clientId: 'legal-agent',
  clientSecret: 'legal-agent-dev-secret',
  token: 'jwt.of.legal',
  format: 'claude-code',
  gatewayUrl: 'http://127.0.0.1:8080',
  privacyProxyUrl: 'http://127.0.0.1:8090',
  nats: { url: 'nats://127.0.0.1:4222', subjectPrefix: '', nameSuffix: '' },
  sessionId: 's-1',
  contextId: 'c-1',
  workspace: '/ws/legal',
  binDir: '/repo/services/mcp-server/bin',
};

describe('agentEnvironment', () => {
  it('points both model APIs at the privacy proxy with the agent token, and drops the operator’s provider keys', () => {
    const env = agentEnvironment({ ...input, format: 'claude-code', apiKeyHelperTtlMs: 1_800_000 });
    expect(env).toMatchObject({
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:8090',
      OPENAI_BASE_URL: 'http://127.0.0.1:8090/v1',
      OPENAI_API_KEY: 'jwt.of.legal',
      CLAUDE_CODE_API_KEY_HELPER_TTL_MS: '1800000',
      HOME: '/home/op',
    });
    // Claude Code takes its credential from the rendered apiKeyHelper: either of these would win over it.
    expect(env).not.toHaveProperty('ANTHROPIC_API_KEY');
    expect(env).not.toHaveProperty('ANTHROPIC_AUTH_TOKEN');
    expect(env).not.toHaveProperty('UNSET');
    expect(Object.values(env)).not.toContain('sk-real');
    expect(Object.values(env)).not.toContain('sk-ant-real');
  });

  it("keeps an operator's helper TTL, and sets none for other formats", () => {
    const base = { ...input.base, CLAUDE_CODE_API_KEY_HELPER_TTL_MS: '60000' };
    expect(agentEnvironment({ ...input, base, apiKeyHelperTtlMs: 5_000 })).toMatchObject({
      CLAUDE_CODE_API_KEY_HELPER_TTL_MS: '60000',
    });
    expect(agentEnvironment({ ...input, format: 'goose', apiKeyHelperTtlMs: 5_000 })).not.toHaveProperty(
      'CLAUDE_CODE_API_KEY_HELPER_TTL_MS',
    );
  });

  it("gives Goose the relay's URL and run key for every model endpoint, and its config home", () => {
    const relay = { url: 'http://127.0.0.1:40001', key: 'orgmesh-relay-k' };
    const env = agentEnvironment({
      ...input,
      base: { ...input.base, OPENAI_HOST: 'https://api.openai.com' },
      format: 'goose',
      modelRelay: relay,
    });
    expect(env).toMatchObject({
      ANTHROPIC_API_KEY: relay.key,
      ANTHROPIC_AUTH_TOKEN: relay.key,
      OPENAI_API_KEY: relay.key,
      ANTHROPIC_HOST: relay.url,
      OPENAI_HOST: relay.url,
      ANTHROPIC_BASE_URL: relay.url,
      OPENAI_BASE_URL: `${relay.url}/v1`,
      ORGMESH_PRIVACY_PROXY_URL: 'http://127.0.0.1:8090',
      ORGMESH_TOKEN: 'jwt.of.legal',
      XDG_CONFIG_HOME: '/ws/legal/.config',
    });
    expect(agentEnvironment(input)).not.toHaveProperty('XDG_CONFIG_HOME');
    expect(agentEnvironment(input)).not.toHaveProperty('OPENAI_HOST');
  });

  it('gives Goose without a relay the token itself', () => {
    expect(agentEnvironment({ ...input, format: 'goose' })).toMatchObject({
      ANTHROPIC_AUTH_TOKEN: 'jwt.of.legal',
      ANTHROPIC_API_KEY: 'jwt.of.legal',
    });
  });

  it('sets what the rendered orgmesh-mcp config references, the session, NATS, and the bin dir first on PATH', () => {
    const env = agentEnvironment(input);
    expect(env).toMatchObject({
      ORGMESH_AGENT_ID: 'legal-agent',
      ORGMESH_CLIENT_ID: 'legal-agent',
      ORGMESH_CLIENT_SECRET: 'legal-agent-dev-secret',
      ORGMESH_GATEWAY_URL: 'http://127.0.0.1:8080',
      ORGMESH_SESSION_ID: 's-1',
      ORGMESH_CONTEXT_ID: 'c-1',
      ORGMESH_WORKSPACE: '/ws/legal',
      NATS_URL: 'nats://127.0.0.1:4222',
      PATH: '/repo/services/mcp-server/bin:/usr/bin',
    });
    expect(env).not.toHaveProperty('NATS_SUBJECT_PREFIX');
    // Claude Code's custom headers: the workflow and the session, for the privacy proxy.
    expect(env['ANTHROPIC_CUSTOM_HEADERS']).toBe('x-orgmesh-context-id: c-1\nx-orgmesh-session-id: s-1');
    expect(
      agentEnvironment({ ...input, nats: { url: 'nats://n', subjectPrefix: 't1.', nameSuffix: '_T1' } }),
    ).toMatchObject({ NATS_SUBJECT_PREFIX: 't1.', NATS_NAME_SUFFIX: '_T1' });
  });
});
