import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@orgmesh/config';
import { loadPrivacyProxyConfig } from './privacy-proxy.config.js';

const base = {
  PRIVACY_PROFILES_FILE: '/etc/orgmesh/profiles.yaml',
  PRIVACY_HMAC_KEY: 'k'.repeat(40),
  PRIVACY_UPSTREAM_OPENAI_URL: 'http://127.0.0.1:11434/v1',
};

describe('privacy proxy config', () => {
  it('applies the documented defaults', () => {
    const config = loadPrivacyProxyConfig(base);
    expect(config).toMatchObject({
      PRIVACY_PROXY_PORT: 8090,
      PRIVACY_PROXY_HOST: '127.0.0.1',
      AUTH_AUDIENCE: 'orgmesh',
      PRIVACY_UPSTREAM_TIMEOUT: 600_000,
    });
  });

  it('names bad keys and never echoes values', () => {
    const secret = 'short-secret';
    let caught: unknown;
    try {
      loadPrivacyProxyConfig({
        ...base,
        PRIVACY_HMAC_KEY: secret,
        PRIVACY_PROXY_PORT: '99999',
        PRIVACY_UPSTREAM_OPENAI_KEY: 'sk-live-xyz',
        PRIVACY_UPSTREAM_ANTHROPIC_URL: 'not a url',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as Error).message;
    expect(message).toContain('PRIVACY_HMAC_KEY');
    expect(message).toContain('PRIVACY_PROXY_PORT');
    expect(message).toContain('PRIVACY_UPSTREAM_ANTHROPIC_URL');
    for (const value of [secret, '99999', 'sk-live-xyz', 'not a url']) expect(message).not.toContain(value);
  });

  it('needs at least one upstream and a profiles file', () => {
    expect(() =>
      loadPrivacyProxyConfig({ PRIVACY_HMAC_KEY: 'k'.repeat(40), PRIVACY_PROFILES_FILE: 'p.yaml' }),
    ).toThrow(/PRIVACY_UPSTREAM_OPENAI_URL/);
    expect(() => loadPrivacyProxyConfig({ ...base, PRIVACY_PROFILES_FILE: undefined })).toThrow(
      /PRIVACY_PROFILES_FILE \(required\)/,
    );
  });
});
