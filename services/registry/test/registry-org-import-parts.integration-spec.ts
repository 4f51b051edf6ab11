import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  GetDirectory,
  ImportOrg,
  ImportOrgPart,
  ORG_IMPORT_PART_MAX_CHARS,
  splitCsv,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { TestContext } from '@orgmesh/testing';
import { importOver } from '../src/cli/org-importer.js';
import { generateOrgChart } from '../src/org/org-chart.generator.js';
import type { RegistryApp } from '../src/registry.app.js';
import { DEMO_ORG_CHART } from './demo-registry.js';
import { clientBus, createTestContext, rpcError, startTestRegistry } from './registry-harness.js';

describe('org import in parts (ADR 0013)', () => {
  let ctx: TestContext;
  let app: RegistryApp;
  let bus: MessageBus;
  let sample: string;

  beforeAll(async () => {
    ctx = await createTestContext();
    app = await startTestRegistry(ctx);
    bus = await clientBus(ctx);
    sample = await readFile(DEMO_ORG_CHART, 'utf8');
  });

  afterAll(async () => {
    await bus?.close();
    await app?.close();
    await ctx?.dispose();
  });

  async function partsLeft(uploadId: string): Promise<number> {
    const { rows } = await app.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM registry.org_import_parts WHERE upload_id = $1`,
      [uploadId],
    );
    return rows[0]?.n ?? 0;
  }

  it('refuses a commit that names parts it never received, and keeps the parts for a retry', async () => {
    const parts = splitCsv(sample, 1_000);
    expect(parts.length).toBeGreaterThan(2);
    const uploadId = randomUUID();
    for (const [index, csv] of parts.entries())
      if (index !== 1) await bus.request(ImportOrgPart, { uploadId, index, csv });
    const refused = await rpcError(bus.request(ImportOrg, { upload: { uploadId, parts: parts.length } }));
    expect(refused.code).toBe('validation_failed');
    expect(refused.details).toMatchObject({
      expected: parts.length,
      received: parts.length - 1,
      missing: [1],
    });
    expect(await partsLeft(uploadId)).toBe(parts.length - 1);

    // The missing part sent late (and one sent twice): the commit now imports the whole chart once.
    await bus.request(ImportOrgPart, { uploadId, index: 1, csv: parts[1]! });
    await bus.request(ImportOrgPart, { uploadId, index: 0, csv: parts[0]! });
    const imported = await bus.request(
      ImportOrg,
      { upload: { uploadId, parts: parts.length } },
      { timeoutMs: 30_000 },
    );
    expect(imported.users).toBe(60);
    expect(await partsLeft(uploadId)).toBe(0);
    const directory = await bus.request(GetDirectory, {});
    expect(directory.people).toHaveLength(60);
    expect(directory.orgVersion).toBe(imported.orgVersion);
  });

  it('refuses a request with both a CSV and an upload, or neither', async () => {
    const uploadId = randomUUID();
    expect(
      (await rpcError(bus.request(ImportOrg, { csv: sample, upload: { uploadId, parts: 1 } } as never))).code,
    ).toBe('validation_failed');
    expect((await rpcError(bus.request(ImportOrg, {} as never))).code).toBe('validation_failed');
  });

  it('imports a chart larger than one part through the CLI path, and every person arrives', async () => {
    const csv = generateOrgChart({ size: 4_000, seed: 11 });
    expect(splitCsv(csv, ORG_IMPORT_PART_MAX_CHARS).length).toBeGreaterThan(1);
    const imported = await importOver(bus, csv, 'generated.csv', undefined);
    expect(imported.users).toBe(4_000);
    const { rows } = await app.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM registry.org_import_parts`,
    );
    expect(rows[0]?.n).toBe(0);
  });
});
