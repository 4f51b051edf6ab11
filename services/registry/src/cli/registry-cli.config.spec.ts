import { describe, expect, it } from '@jest/globals';
import { loadRegistryCliEnv } from './registry-cli.config.js';

describe('loadRegistryCliEnv', () => {
  it('keeps the keys the registry CLI reads, as given, and nothing else of the environment', () => {
    const parsed = loadRegistryCliEnv({
      ORGMESH_GATEWAY_URL: 'http://gw:8080',
      ORGMESH_TOKEN: 'tok',
      NATS_URL: 'nats://bus:4222',
      NATS_SUBJECT_PREFIX: '',
      ORGMESH_WARNED: 'dev-admin-secret',
      HOME: '/root',
      AWS_SECRET_ACCESS_KEY: 'unrelated',
    });
    expect(parsed).toEqual({
      ORGMESH_GATEWAY_URL: 'http://gw:8080',
      ORGMESH_TOKEN: 'tok',
      NATS_URL: 'nats://bus:4222',
      NATS_SUBJECT_PREFIX: '',
      ORGMESH_WARNED: 'dev-admin-secret',
    });
  });

  it('has no required key: an empty environment is the suite-local defaults of each command', () => {
    expect(loadRegistryCliEnv({})).toEqual({});
  });
});
