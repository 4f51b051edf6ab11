import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestContext } from '@orgmesh/testing';
import type { RegistryApp } from '../src/registry.app.js';
import { createTestContext, startTestRegistry } from './registry-harness.js';

/** The registry's retention job: its dedupe table by age, under the job's advisory lock. */
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
    expect(run?.deleted).toEqual({ 'registry.processed_events': 5 });
    const { rows } = await app.db.query<{ n: number; oldest: number }>(
      `SELECT count(*)::int AS n, max(extract(day FROM now() - processed_at))::int AS oldest FROM registry.processed_events`,
    );
    expect(rows[0]).toEqual({ n: 10, oldest: 9 });
  });
});
