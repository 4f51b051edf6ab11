import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestContext } from '@orgmesh/testing';
import type { RegistryApp } from '../src/registry.app.js';
import { createTestContext, startTestRegistry } from './registry-harness.js';

/** The registry's retention job: its dedupe table and abandoned org-import parts by age. */
describe('registry retention', () => {
  let ctx: TestContext;
  let app: RegistryApp;

  beforeAll(async () => {
    ctx = await createTestContext();
    app = await startTestRegistry(ctx, { overrides: { PROCESSED_EVENTS_RETENTION: '10d' } });
  });

  afterAll(async () => {
    await app?.close();
    await ctx?.dispose();
  });

  it('deletes dedupe records older than PROCESSED_EVENTS_RETENTION and keeps the younger ones', async () => {
    await app.db.query(
      `INSERT INTO registry.processed_events (consumer, event_id, processed_at)
       SELECT 'c', 'e' || i, now() - (i + 0.5) * interval '1 day' FROM generate_series(0, 14) i`,
    );
    const run = await app.jobs.retainOnce();
    // Aged 0.5 … 14.5 days: the five past 10 days go.
    expect(run?.deleted).toMatchObject({ 'registry.processed_events': 5 });
    const { rows } = await app.db.query<{ n: number; oldest: number }>(
      `SELECT count(*)::int AS n, max(extract(day FROM now() - processed_at))::int AS oldest FROM registry.processed_events`,
    );
    expect(rows[0]).toEqual({ n: 10, oldest: 9 });
  });

  it('deletes the parts of org imports nobody completed within the hour, and keeps a recent upload', async () => {
    await app.db.query(
      `INSERT INTO registry.org_import_parts (upload_id, part_index, csv, received_at)
       VALUES ('00000000-0000-4000-8000-000000000001', 0, 'a', now() - interval '2 hours'),
              ('00000000-0000-4000-8000-000000000001', 1, 'b', now() - interval '61 minutes'),
              ('00000000-0000-4000-8000-000000000002', 0, 'c', now() - interval '5 minutes')`,
    );
    const run = await app.jobs.retainOnce();
    expect(run?.deleted['registry.org_import_parts']).toBe(2);
    const { rows } = await app.db.query<{ upload_id: string }>(`SELECT upload_id FROM registry.org_import_parts`);
    expect(rows).toEqual([{ upload_id: '00000000-0000-4000-8000-000000000002' }]);
  });
});
