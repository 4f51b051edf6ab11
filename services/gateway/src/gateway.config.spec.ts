import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@orgmesh/config';
import { loadGatewayConfig } from './gateway.config.js';

/** The ConfigError `load` throws; fails the test when it loads, or throws anything else. */
function configErrorOf(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, but the configuration loaded');
}

describe('gateway config', () => {
  it('defaults to dev identity on the documented ports', () => {
    const config = loadGatewayConfig({});
    expect(config).toMatchObject({ AUTH_MODE: 'dev', GATEWAY_HTTP_PORT: 8080, GATEWAY_GRPC_PORT: 50051 });
    expect(config.GATEWAY_CORS_ORIGINS).toBeUndefined();
  });

  it('refuses production mode without an issuer, an audience and a JWKS URL, naming the keys', () => {
    expect(() => loadGatewayConfig({ AUTH_MODE: 'oidc' })).toThrow(ConfigError);
    const error = configErrorOf(() =>
      loadGatewayConfig({ AUTH_MODE: 'oidc', AUTH_ISSUER: 'https://id.example/realms/x' }),
    );
    expect(error.problems.map((p) => p.key)).toEqual(['AUTH_AUDIENCE', 'AUTH_JWKS_URL']);
  });

  it('refuses dev secrets in production mode', () => {
    const oidc = {
      AUTH_MODE: 'oidc',
      AUTH_ISSUER: 'https://id.example',
      AUTH_AUDIENCE: 'orgmesh',
      AUTH_JWKS_URL: 'https://id.example/jwks',
    };
    expect(loadGatewayConfig(oidc).AUTH_MODE).toBe('oidc');
    expect(() => loadGatewayConfig({ ...oidc, AUTH_DEV_CLIENTS: 'ops:ops' })).toThrow(
      /AUTH_DEV_CLIENTS \(dev clients and their secrets are refused/,
    );
    expect(() => loadGatewayConfig({ ...oidc, AUTH_DEV_REGISTRY_DIR: '/x' })).toThrow(
      /AUTH_DEV_REGISTRY_DIR/,
    );
  });

  it('refuses a plain-http JWKS except on loopback, without echoing values', () => {
    const base = { AUTH_MODE: 'oidc', AUTH_ISSUER: 'https://id.example', AUTH_AUDIENCE: 'orgmesh' };
    expect(() => loadGatewayConfig({ ...base, AUTH_JWKS_URL: 'http://id.example/jwks' })).toThrow(
      /AUTH_JWKS_URL \(expected https/,
    );
    expect(loadGatewayConfig({ ...base, AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks' }).AUTH_JWKS_URL).toBe(
      'http://127.0.0.1:9/jwks',
    );
    const error = configErrorOf(() =>
      loadGatewayConfig({ ...base, AUTH_JWKS_URL: 'http://secret-host.example/jwks' }),
    );
    expect(error.problems.map((p) => p.key)).toEqual(['AUTH_JWKS_URL']);
    expect(error.message).toContain('AUTH_JWKS_URL');
    expect(error.message).not.toContain('secret-host');
  });
});
