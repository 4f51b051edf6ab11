import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { ORG_IMPORT_PART_MAX_CHARS } from '@orgmesh/contracts';
import { createTestContext, type TestContext } from '@orgmesh/testing';
// The registry's generator of large, valid org charts (the same one its own scale tests use).
import { generateOrgChart } from '@orgmesh/registry/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { findProtoDir, loadGatewayProtos } from '../src/grpc/grpc.server.js';
import { api, devToken, startGatewayStack, type GatewayStack } from './gateway-harness.js';

interface UsersPage {
  items: Array<{ userId: string; name: string; email: string; department: string }>;
  nextCursor: string | null;
  orgVersion: number;
}

/** `userId|email` of every person of a generated CSV (no generated name or id holds a comma). */
function peopleOf(csv: string): string[] {
  return csv
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const fields = line.split(',');
      return `${fields[0]}|${fields[4]}`;
    });
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * The org directory and import at scale through the gateway (issue 21): `GET /v1/users` pages over
 * the registry's directory pages with opaque cursors, and an HTTP import past one NATS message is
 * sent to the registry in parts (ADR 0013).
 */
describe('gateway org directory and import at scale', () => {
  let ctx: TestContext;
  let stack: GatewayStack;
  let gateway: GatewayApp;
  let admin: string;

  beforeAll(async () => {
    ctx = await createTestContext();
    stack = await startGatewayStack(ctx, { sessions: false });
    gateway = stack.gateway;
    admin = await devToken(gateway, 'admin');
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    await ctx?.dispose();
  });

  /** Every page of `GET /v1/users`, following nextCursor. */
  async function pageAll(
    limit: number,
  ): Promise<{ people: string[]; pages: number; orgVersions: Set<number> }> {
    const people: string[] = [];
    const orgVersions = new Set<number>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const page = await api<UsersPage>(gateway, 'GET', `/v1/users?limit=${limit}${query}`, { token: admin });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(limit);
      people.push(...page.body.items.map((p) => `${p.userId}|${p.email}`));
      orgVersions.add(page.body.orgVersion);
      cursor = page.body.nextCursor;
      pages++;
      if (pages > 1_000) throw new Error('the cursor does not advance');
    } while (cursor !== null);
    return { people, pages, orgVersions };
  }

  async function partsLeft(): Promise<number> {
    const { rows } = await stack.registry.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM registry.org_import_parts',
    );
    return rows[0]?.n ?? 0;
  }

  it('imports 25,000 people as text/csv (past one NATS message) and pages through each of them exactly once', async () => {
    const csv = generateOrgChart({ size: 25_000, seed: 21 });
    expect(Buffer.byteLength(csv)).toBeGreaterThan(1024 * 1024);
    expect(csv.length).toBeGreaterThan(4 * ORG_IMPORT_PART_MAX_CHARS);

    const started = performance.now();
    const imported = await api(gateway, 'POST', '/v1/org/import', {
      token: admin,
      rawBody: csv,
      headers: { 'content-type': 'text/csv' },
    });
    const importMs = performance.now() - started;
    expect(imported.status).toBe(200);
    expect(imported.body.users).toBe(25_000);
    // The gateway committed its upload: the registry kept no parts.
    expect(await partsLeft()).toBe(0);
    process.stdout.write(
      `HTTP import of 25,000 people (${Buffer.byteLength(csv)} bytes): ${importMs.toFixed(0)} ms\n`,
    );

    const listed = await pageAll(500);
    expect(listed.pages).toBe(50);
    expect(listed.orgVersions).toEqual(new Set([imported.body.orgVersion]));
    expect(new Set(listed.people).size).toBe(listed.people.length);
    expect([...listed.people].sort()).toEqual(peopleOf(csv).sort());
    // Ordered by user id, as the registry pages.
    const ids = listed.people.map((p) => p.split('|')[0]!);
    expect(ids).toEqual([...ids].sort());
  }, 300_000);

  it('replaces the chart from a JSON body of 20,000 people; a cursor of the previous chart is 409', async () => {
    const before = await api<UsersPage>(gateway, 'GET', '/v1/users?limit=10', { token: admin });
    expect(before.body.nextCursor).not.toBeNull();

    const csv = generateOrgChart({ size: 20_000, seed: 22 });
    expect(Buffer.byteLength(JSON.stringify({ csv }))).toBeGreaterThan(1024 * 1024);
    const imported = await api(gateway, 'POST', '/v1/org/import', {
      token: admin,
      body: { csv, fileName: 'org-20k.csv' },
    });
    expect(imported.status).toBe(200);
    expect(imported.body).toMatchObject({ users: 20_000 });
    expect(imported.body.orgVersion).toBeGreaterThan(before.body.orgVersion);

    const stale = await api(gateway, 'GET', `/v1/users?limit=10&cursor=${before.body.nextCursor}`, {
      token: admin,
    });
    expect(stale.status).toBe(409);
    // Problem details carry the error's details as extension members.
    expect(stale.body).toMatchObject({
      code: 'conflict',
      pagedOrgVersion: before.body.orgVersion,
      orgVersion: imported.body.orgVersion,
    });

    // Larger pages than the REST limit are refused, and the default page is 100.
    expect((await api(gateway, 'GET', '/v1/users?limit=501', { token: admin })).status).toBe(400);
    const first = await api<UsersPage>(gateway, 'GET', '/v1/users', { token: admin });
    expect(first.body.items).toHaveLength(100);

    const listed = await pageAll(500);
    expect(listed.people).toHaveLength(20_000);
    expect(new Set(listed.people).size).toBe(20_000);
    // The new chart's people (other names and emails for the same ids), none of the old one's left.
    expect([...listed.people].sort()).toEqual(peopleOf(csv).sort());
  }, 300_000);

  it('does the same over gRPC: ImportOrg of a CSV past one NATS message, ListUsers paged by nextCursor', async () => {
    const loaded = grpc.loadPackageDefinition(loadGatewayProtos(findProtoDir())) as any;
    const registry = new loaded.orgmesh.v1.Registry(
      `127.0.0.1:${gateway.grpcPort}`,
      grpc.credentials.createInsecure(),
    ) as grpc.Client & Record<string, (...args: unknown[]) => void>;
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${admin}`);
    const unary = <T>(method: string, request: unknown) =>
      new Promise<T>((resolve, reject) =>
        registry[method]!(request, metadata, (error: grpc.ServiceError | null, response: T) =>
          error ? reject(error) : resolve(response),
        ),
      );
    try {
      const csv = generateOrgChart({ size: 16_000, seed: 24 });
      expect(Buffer.byteLength(csv)).toBeGreaterThan(1024 * 1024);
      const imported = await unary<{ users: number; orgVersion: number }>('ImportOrg', {
        csv,
        fileName: 'org-16k.csv',
      });
      expect(imported.users).toBe(16_000);
      const people: string[] = [];
      let cursor: string | undefined;
      do {
        const page: { items: UsersPage['items']; nextCursor?: string; orgVersion: number } = await unary(
          'ListUsers',
          { limit: 500, ...(cursor ? { cursor } : {}) },
        );
        expect(page.orgVersion).toBe(imported.orgVersion);
        people.push(...page.items.map((p) => `${p.userId}|${p.email}`));
        cursor = page.nextCursor || undefined;
      } while (cursor);
      expect(people.sort()).toEqual(peopleOf(csv).sort());
    } finally {
      registry.close();
    }
  }, 300_000);

  /**
   * The figure of the README: `GATEWAY_ORG_IMPORT_SCALE=100000` imports that many people over HTTP
   * and pages through them (minutes on a loaded machine, so not part of the default run).
   */
  const scale = Number(process.env['GATEWAY_ORG_IMPORT_SCALE'] ?? 0);
  (scale > 0 ? it : it.skip)(
    `imports GATEWAY_ORG_IMPORT_SCALE (${scale}) people over HTTP and lists every one`,
    async () => {
      const csv = generateOrgChart({ size: scale, seed: 23 });
      const started = performance.now();
      const imported = await api(gateway, 'POST', '/v1/org/import', {
        token: admin,
        rawBody: csv,
        headers: { 'content-type': 'text/csv' },
      });
      const importMs = performance.now() - started;
      expect(imported.status).toBe(200);
      expect(imported.body.users).toBe(scale);
      const pageStarted = performance.now();
      const listed = await pageAll(500);
      const pageMs = performance.now() - pageStarted;
      expect(new Set(listed.people).size).toBe(scale);
      process.stdout.write(
        `HTTP import of ${scale} people (${Buffer.byteLength(csv)} bytes): ${importMs.toFixed(0)} ms; ` +
          `${listed.pages} pages of 500 read in ${pageMs.toFixed(0)} ms\n`,
      );
    },
    900_000,
  );

  it('refuses a chart in parts whose last line is wrong as a whole: 400 naming the line, the chart unchanged', async () => {
    const before = await api<UsersPage>(gateway, 'GET', '/v1/users?limit=1', { token: admin });
    const valid = generateOrgChart({ size: 20_000, seed: 25 });
    // A manager nobody declares, on the last line (in the last part).
    const csv = `${valid}u99999,nobody,Late Person,finance,late.person@example.com,Finance\n`;
    const refused = await api(gateway, 'POST', '/v1/org/import', {
      token: admin,
      rawBody: csv,
      headers: { 'content-type': 'text/csv' },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('validation_failed');
    expect(JSON.stringify(refused.body.problems)).toContain('20002');
    const after = await api<UsersPage>(gateway, 'GET', '/v1/users?limit=1', { token: admin });
    expect(after.body.orgVersion).toBe(before.body.orgVersion);
  }, 300_000);

  it('refuses a client-sent upload commit: chunking is the gateway’s, the body is a CSV', async () => {
    const refused = await api(gateway, 'POST', '/v1/org/import', {
      token: admin,
      body: { upload: { uploadId: '0b5c4a59-6f1e-4a4e-9a39-8f0d1f4a1c11', parts: 2 } },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('validation_failed');
  });

  it.each([
    ['garbage', 'not-a-cursor!'],
    ['base64url of non-JSON', Buffer.from('\u0001\u0002').toString('base64url')],
    ['an offset cursor of another list', b64({ o: 100 })],
    ['no org version', b64({ a: 'u00010' })],
    ['a negative org version', b64({ a: 'u00010', v: -1 })],
    ['an extra field', b64({ a: 'u00010', v: 1, x: 1 })],
    ['a NUL in the user id', b64({ a: 'u00\u000010', v: 1 })],
  ])('answers a forged cursor (%s) with 400 invalid_cursor', async (_, cursor) => {
    const res = await api(gateway, 'GET', `/v1/users?cursor=${encodeURIComponent(cursor)}`, { token: admin });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('invalid_cursor');
  });
});
