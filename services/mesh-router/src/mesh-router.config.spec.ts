import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@orgmesh/config';
import { loadMeshRouterConfig } from './mesh-router.config.js';

describe('loadMeshRouterConfig', () => {
  it('parses MIGRATE_ON_START: off by default, on when set to true', () => {
    expect(loadMeshRouterConfig({}).MIGRATE_ON_START).toBe(false);
    expect(loadMeshRouterConfig({ MIGRATE_ON_START: 'true' }).MIGRATE_ON_START).toBe(true);
    expect(loadMeshRouterConfig({ MIGRATE_ON_START: 'false' }).MIGRATE_ON_START).toBe(false);
  });

  it('refuses a MIGRATE_ON_START it cannot read, naming the key and not the value', () => {
    const load = () => loadMeshRouterConfig({ MIGRATE_ON_START: 'maybe-later' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(
      expect.objectContaining({ problems: [expect.objectContaining({ key: 'MIGRATE_ON_START' })] }),
    );
    expect(load).not.toThrow(/maybe-later/);
  });

  it('parses LOG_LEVEL, which runService hands to the logger', () => {
    expect(loadMeshRouterConfig({}).LOG_LEVEL).toBe('info');
    expect(loadMeshRouterConfig({ LOG_LEVEL: 'debug' }).LOG_LEVEL).toBe('debug');
    expect(() => loadMeshRouterConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });
});
