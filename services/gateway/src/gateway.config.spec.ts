import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@orgmesh/config';
import { loadGatewayConfig } from './gateway.config.js';

/** A ConfigError naming exactly `keys`, as `toThrow` matches it (an asymmetric matcher). */
function configErrorNaming(...keys: string[]) {
  return expect.objectContaining({
    constructor: ConfigError,
    problems: keys.map((key) => expect.objectContaining({ key })),
  });
}

describe('gateway config', () => {
  it('defaults to dev identity on the documented ports', () => {
    const config = loadGatewayConfig({});
    expect(config).toMatchObject({ AUTH_MODE: 'dev', GATEWAY_HTTP_PORT: 8080, GATEWAY_GRPC_PORT: 50051 });
    expect(config.GATEWAY_CORS_ORIGINS).toBeUndefined();
  });

  it('refuses production mode without an issuer, an audience and a JWKS URL, naming the keys', () => {
    expect(() => loadGatewayConfig({ AUTH_MODE: 'oidc' })).toThrow(ConfigError);
    expect(() =>
      loadGatewayConfig({ AUTH_MODE: 'oidc', AUTH_ISSUER: 'https://id.example/realms/x' }),
    ).toThrow(configErrorNaming('AUTH_AUDIENCE', 'AUTH_JWKS_URL'));
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
    const leaky = () => loadGatewayConfig({ ...base, AUTH_JWKS_URL: 'http://secret-host.example/jwks' });
    expect(leaky).toThrow(configErrorNaming('AUTH_JWKS_URL'));
    expect(leaky).toThrow(/AUTH_JWKS_URL/);
    expect(leaky).not.toThrow(/secret-host/);
  });
});
