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

  it('spools the audit under .orgmesh by default and refuses a spool cap under 1 MiB', () => {
    expect(loadPrivacyProxyConfig(base)).toMatchObject({
      PRIVACY_AUDIT: 'nats',
      PRIVACY_AUDIT_SPOOL_DIR: '.orgmesh/privacy-audit',
      PRIVACY_AUDIT_SPOOL_MAX_BYTES: 1024 ** 3,
    });
    expect(() => loadPrivacyProxyConfig({ ...base, PRIVACY_AUDIT_SPOOL_MAX_BYTES: '1000' })).toThrow(
      /PRIVACY_AUDIT_SPOOL_MAX_BYTES/,
    );
  });

  it('LLM governance: Postgres only when DATABASE_URL is set, prices merged over the shipped ones, bad values named', () => {
    const defaults = loadPrivacyProxyConfig(base);
    expect(defaults.DATABASE_URL).toBeUndefined();
    expect(defaults.PRIVACY_LLM_PRICES).toBeUndefined();
    expect(defaults).toMatchObject({
      MIGRATE_ON_START: false,
      PRIVACY_BUDGET_SYNC_INTERVAL: 200,
      PRIVACY_BUDGET_STALE_AFTER: 3_000,
      PRIVACY_LLM_OUTPUT_RESERVE: 1024,
    });
    const prices = '{"gpt-4o-mini": {"input": 0.1, "output": 0.5}}';
    expect(
      loadPrivacyProxyConfig({ ...base, DATABASE_URL: 'postgres://proxy@db:5432/orgmesh', PRIVACY_LLM_PRICES: prices }),
    ).toMatchObject({
      DATABASE_URL: 'postgres://proxy@db:5432/orgmesh',
      PRIVACY_LLM_PRICES: { 'gpt-4o-mini': { input: 0.1, output: 0.5 } },
    });
    expect(() => loadPrivacyProxyConfig({ ...base, DATABASE_URL: 'mysql://db/orgmesh' })).toThrow(/DATABASE_URL/);
    const bad = '{"gpt-4o-mini": {"input": "cheap"}}';
    expect(() => loadPrivacyProxyConfig({ ...base, PRIVACY_LLM_PRICES: bad })).toThrow(ConfigError);
    expect(() => loadPrivacyProxyConfig({ ...base, PRIVACY_LLM_PRICES: bad })).toThrow(/PRIVACY_LLM_PRICES/);
    expect(() => loadPrivacyProxyConfig({ ...base, PRIVACY_LLM_PRICES: bad })).not.toThrow(/cheap/);
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

  it('needs at least one upstream', () => {
    expect(() =>
      loadPrivacyProxyConfig({ PRIVACY_HMAC_KEY: 'k'.repeat(40), PRIVACY_PROFILES_FILE: 'p.yaml' }),
    ).toThrow(/PRIVACY_UPSTREAM_OPENAI_URL/);
  });

  it('reads profiles from the registry unless a profiles file is given', () => {
    const registry = loadPrivacyProxyConfig({ ...base, PRIVACY_PROFILES_FILE: undefined });
    expect(registry).toMatchObject({
      PRIVACY_PROFILE_SOURCE: 'registry',
      PRIVACY_PROFILE_CACHE_TTL: 60_000,
      PRIVACY_REGISTRY_TIMEOUT: 2_000,
      PRIVACY_FALLBACK_MODE: 'mask',
    });
    expect(registry.PRIVACY_PROFILE_JWKS).toBeUndefined();
    expect(loadPrivacyProxyConfig(base)).toMatchObject({
      PRIVACY_PROFILE_SOURCE: 'file',
      PRIVACY_PROFILES_FILE: '/etc/orgmesh/profiles.yaml',
    });
    expect(
      loadPrivacyProxyConfig({ ...base, PRIVACY_PROFILES_FILE: ' ', PRIVACY_PROFILE_SOURCE: 'registry' })
        .PRIVACY_PROFILE_SOURCE,
    ).toBe('registry');
  });

  it('refuses a contradictory profile source, naming the key', () => {
    expect(() =>
      loadPrivacyProxyConfig({ ...base, PRIVACY_PROFILES_FILE: undefined, PRIVACY_PROFILE_SOURCE: 'file' }),
    ).toThrow(/PRIVACY_PROFILES_FILE \(required with PRIVACY_PROFILE_SOURCE=file\)/);
    expect(() => loadPrivacyProxyConfig({ ...base, PRIVACY_PROFILE_SOURCE: 'registry' })).toThrow(
      /PRIVACY_PROFILES_FILE \(not read with PRIVACY_PROFILE_SOURCE=registry/,
    );
    expect(() => loadPrivacyProxyConfig({ ...base, PRIVACY_PROFILE_SOURCE: 'database' })).toThrow(
      /PRIVACY_PROFILE_SOURCE/,
    );
  });

  it('never falls back to a mode that lets personal data out', () => {
    const registry = { ...base, PRIVACY_PROFILES_FILE: undefined };
    expect(
      loadPrivacyProxyConfig({ ...registry, PRIVACY_FALLBACK_MODE: 'refuse' }).PRIVACY_FALLBACK_MODE,
    ).toBe('refuse');
    for (const mode of ['off', 'detect'])
      expect(() => loadPrivacyProxyConfig({ ...registry, PRIVACY_FALLBACK_MODE: mode })).toThrow(
        /PRIVACY_FALLBACK_MODE/,
      );
  });

  it('parses pinned profile-signing keys and refuses anything but a JWKS', () => {
    const registry = { ...base, PRIVACY_PROFILES_FILE: undefined };
    const jwks = { keys: [{ kty: 'EC', kid: 'registry-1', crv: 'P-256', x: 'x', y: 'y' }] };
    expect(
      loadPrivacyProxyConfig({ ...registry, PRIVACY_PROFILE_JWKS: JSON.stringify(jwks) })
        .PRIVACY_PROFILE_JWKS,
    ).toEqual(jwks);
    for (const bad of ['not json', '{"keys":[]}', '{"keys":[{"kty":"EC"}]}'])
      expect(() => loadPrivacyProxyConfig({ ...registry, PRIVACY_PROFILE_JWKS: bad })).toThrow(
        /PRIVACY_PROFILE_JWKS/,
      );
  });
});
