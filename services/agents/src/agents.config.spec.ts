import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@orgmesh/config';
import { loadAgentsConfig } from './agents.config.js';
import { loadScriptedModelConfig } from './scripted-model/scripted-model.config.js';

describe('agents config', () => {
  it('needs only the role: the demo agent id, its dev secret and local endpoints by default', () => {
    const config = loadAgentsConfig({ AGENT_ROLE: 'legal' });
    expect(config).toMatchObject({
      AGENT_ROLE: 'legal',
      AGENT_ID: 'legal-agent',
      AGENT_CLIENT_SECRET: 'legal-agent-dev-secret',
      devSecret: true,
      GATEWAY_URL: 'http://127.0.0.1:8080',
      PRIVACY_PROXY_URL: 'http://127.0.0.1:8090',
      AGENTS_HTTP_PORT: 8104,
      AGENTS_HTTP_HOST: '127.0.0.1',
      AGENT_LLM_STREAM: true,
      AGENT_MAX_WAIT: 300_000,
    });
    const named = loadAgentsConfig({
      AGENT_ROLE: 'finance',
      AGENT_ID: 'finance-2',
      AGENT_CLIENT_SECRET: 'real-secret',
      AGENT_LLM_STREAM: 'false',
      AGENTS_HTTP_HOST: '0.0.0.0',
    });
    expect(named).toMatchObject({
      AGENT_ID: 'finance-2',
      AGENT_CLIENT_SECRET: 'real-secret',
      devSecret: false,
      AGENT_LLM_STREAM: false,
      AGENTS_HTTP_HOST: '0.0.0.0',
    });
  });

  it('names bad keys, never their values', () => {
    let error: unknown;
    try {
      loadAgentsConfig({
        AGENT_ROLE: 'ceo',
        AGENT_ID: 'Bad Id',
        AGENT_CLIENT_SECRET: 'hunter2',
        GATEWAY_URL: 'nope',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const key of ['AGENT_ROLE', 'AGENT_ID', 'GATEWAY_URL']) expect(message).toContain(key);
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('Bad Id');
  });

  it('ORGMESH_OIDC_ISSUER switches to an OpenID provider: no dev secret, the agent id as client id; problems name keys', () => {
    const config = loadAgentsConfig({
      AGENT_ROLE: 'legal',
      ORGMESH_OIDC_ISSUER: 'https://id.example.com/realms/orgmesh',
      ORGMESH_OIDC_CLIENT_SECRET: 'hunter2',
    });
    expect(config.devSecret).toBe(false);
    expect(config.oidc).toMatchObject({
      clientId: 'legal-agent',
      auth: { method: 'client_secret_basic', secret: 'hunter2' },
    });
    expect(loadAgentsConfig({ AGENT_ROLE: 'legal' }).oidc).toBeUndefined();
    const error = (() => {
      try {
        loadAgentsConfig({ AGENT_ROLE: 'legal', ORGMESH_OIDC_ISSUER: 'http://id.example.com' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.key)).toEqual([
      'ORGMESH_OIDC_ISSUER',
      'ORGMESH_OIDC_CLIENT_SECRET',
    ]);
  });

  it('scripted model: port 11434, no recording unless asked', () => {
    const defaults = loadScriptedModelConfig({});
    expect(defaults).toMatchObject({ SCRIPTED_MODEL_PORT: 11434, SCRIPTED_MODEL_HOST: '0.0.0.0' });
    expect(defaults.SCRIPTED_MODEL_RECORD_FILE).toBeUndefined();
    expect(
      loadScriptedModelConfig({ SCRIPTED_MODEL_RECORD_FILE: '/tmp/x.jsonl' }).SCRIPTED_MODEL_RECORD_FILE,
    ).toBe('/tmp/x.jsonl');
  });
});
