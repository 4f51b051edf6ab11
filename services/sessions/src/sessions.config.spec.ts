import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@orgmesh/config';
import { loadSessionsConfig } from './sessions.config.js';

describe('loadSessionsConfig', () => {
  it('parses MIGRATE_ON_START: off by default, on when set to true', () => {
    expect(loadSessionsConfig({}).MIGRATE_ON_START).toBe(false);
    expect(loadSessionsConfig({ MIGRATE_ON_START: 'true' }).MIGRATE_ON_START).toBe(true);
    expect(loadSessionsConfig({ MIGRATE_ON_START: 'false' }).MIGRATE_ON_START).toBe(false);
  });

  it('refuses a MIGRATE_ON_START it cannot read, naming the key and not the value', () => {
    const load = () => loadSessionsConfig({ MIGRATE_ON_START: 'maybe-later' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(
      expect.objectContaining({ problems: [expect.objectContaining({ key: 'MIGRATE_ON_START' })] }),
    );
    expect(load).not.toThrow(/maybe-later/);
  });

  it('parses LOG_LEVEL, which runService hands to the logger', () => {
    expect(loadSessionsConfig({}).LOG_LEVEL).toBe('info');
    expect(loadSessionsConfig({ LOG_LEVEL: 'debug' }).LOG_LEVEL).toBe('debug');
    expect(() => loadSessionsConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });
});
