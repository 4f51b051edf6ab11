import { describe, expect, it } from '@jest/globals';
import { resolveDatabaseUrl } from '@orgmesh/config';
import { loadMigrateConfig } from './migrate.config.js';

describe('loadMigrateConfig', () => {
  it('reads DATABASE_URL and leaves an unset or blank one to resolveDatabaseUrl', () => {
    expect(loadMigrateConfig({ DATABASE_URL: ' postgres://db:5432/orgmesh ', HOME: '/root' })).toEqual({
      DATABASE_URL: 'postgres://db:5432/orgmesh',
    });
    expect(loadMigrateConfig({}).DATABASE_URL).toBeUndefined();
    expect(loadMigrateConfig({ DATABASE_URL: '  ' }).DATABASE_URL).toBeUndefined();
    expect(resolveDatabaseUrl(loadMigrateConfig({ DATABASE_URL: 'postgres://db/x' }))).toEqual({
      url: 'postgres://db/x',
      source: 'DATABASE_URL',
    });
  });
});
