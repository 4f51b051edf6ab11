import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError, GetDirectory, ImportOrg } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { TestContext } from '@orgmesh/testing';
import { DEMO_ORG_CHART } from './demo-registry.js';
import { clientBus, createTestContext, startTestRegistry } from './registry-harness.js';

const OTHER_CHART = `user_id,reports_to_id,name,role,email,department
u-9001,,Grace Okafor,manager,grace.okafor@example.com,Executive
`;

describe('REGISTRY_ORG_CHART: an org chart seeded at startup', () => {
  let ctx: TestContext;
  let bus: MessageBus;
  let dir: string;

  beforeAll(async () => {
    ctx = await createTestContext();
    bus = await clientBus(ctx);
    dir = await mkdtemp(join(tmpdir(), 'registry-org-seed-'));
  });

  afterAll(async () => {
    await bus?.close();
    await ctx?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('imports the seed into an empty registry, and never over an org chart already imported', async () => {
    const seeded = { overrides: { REGISTRY_ORG_CHART: DEMO_ORG_CHART } };
    let app = await startTestRegistry(ctx, seeded);
    let directory = await bus.request(GetDirectory, {});
    expect(directory.orgVersion).toBe(1);
    expect(directory.people).toHaveLength(60);
    expect(directory.people.find((p) => p.userId === 'u00040')?.name).toBe('Kenji Ito');
    await app.close();

    // A restart: already seeded, nothing imported again.
    app = await startTestRegistry(ctx, seeded);
    expect((await bus.request(GetDirectory, {})).orgVersion).toBe(1);
    // An administrator imports the real org chart; later restarts leave it alone.
    await bus.request(ImportOrg, { csv: OTHER_CHART, fileName: 'acme.csv' }, { timeoutMs: 30_000 });
    await app.close();
    app = await startTestRegistry(ctx, seeded);
    directory = await bus.request(GetDirectory, {});
    expect(directory.orgVersion).toBe(2);
    expect(directory.people.map((p) => p.name)).toEqual(['Grace Okafor']);
    await app.close();
  });

  it('refuses to start with a seed it cannot import into an empty registry', async () => {
    const fresh = await createTestContext();
    try {
      const invalid = join(dir, 'invalid.csv');
      await writeFile(invalid, `${OTHER_CHART}u-9002,u-9001,Ivo Berg,astronaut,ivo.berg@example.com,Space\n`);
      let caught: unknown;
      try {
        const app = await startTestRegistry(fresh, { overrides: { REGISTRY_ORG_CHART: invalid } });
        await app.close();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(AppError);
      expect((caught as AppError).code).toBe('validation_failed');
      expect((caught as AppError).message).toContain('line 3');

      caught = undefined;
      try {
        const app = await startTestRegistry(fresh, {
          overrides: { REGISTRY_ORG_CHART: join(dir, 'missing.csv') },
        });
        await app.close();
      } catch (error) {
        caught = error;
      }
      expect((caught as AppError).message).toBe('REGISTRY_ORG_CHART cannot be read');
    } finally {
      await fresh.dispose();
    }
  });
});
