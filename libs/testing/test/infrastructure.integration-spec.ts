import { afterEach, describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { provisionInfrastructure } from '../src/infrastructure.js';

/**
 * The fresh-machine path of `npm test`: no NATS_URL, no DATABASE_URL, no Docker engine. Then the
 * tests start a local nats-server and an embedded Postgres; as root (CI containers, this machine)
 * Postgres runs as a user of its own, which must be able to reach its data directory.
 */
describe('provisionInfrastructure without NATS_URL, DATABASE_URL or Docker', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('starts a local nats-server and an embedded Postgres that answers, and removes its directory when stopped', async () => {
    delete process.env['NATS_URL'];
    delete process.env['DATABASE_URL'];
    process.env['ORGMESH_TESTCONTAINERS'] = 'off';
    const before = new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('orgmesh-embedded-pg-')));
    const infra = await provisionInfrastructure();
    try {
      expect(infra.source).toEqual({ nats: 'binary', postgres: 'embedded' });
      const client = new pg.Client({ connectionString: infra.databaseUrl });
      await client.connect();
      try {
        expect((await client.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await client.end();
      }
    } finally {
      await infra.stop();
    }
    const left = readdirSync(tmpdir()).filter((f) => f.startsWith('orgmesh-embedded-pg-') && !before.has(f));
    expect(left.filter((f) => existsSync(`${tmpdir()}/${f}`))).toEqual([]);
  }, 120_000);
});
