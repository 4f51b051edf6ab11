import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { findPackageJSON } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { createTestContext, type TestContext } from '@orgmesh/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { DOCS_RENDERER_PATH, docsRendererFile } from '../src/openapi/docs-page.js';
import { startTestGateway } from './gateway-harness.js';

type Json = Record<string, any>;

const REDOCLY_MANIFEST = findPackageJSON('@redocly/cli', import.meta.url);
const REDOCLY_CLI = join(dirname(REDOCLY_MANIFEST ?? '.'), 'bin', 'cli.js');
const REDOCLY_CONFIG = fileURLToPath(new URL('../redocly.yaml', import.meta.url));
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

interface LintResult {
  totals: { errors: number; warnings: number; ignored: number };
  problems: Array<{
    ruleId: string;
    severity: string;
    message: string;
    location: Array<{ pointer: string }>;
  }>;
}

/** `redocly lint` of a document, with the gateway's config (recommended rules and more); no telemetry. */
async function lint(document: Json, dir: string): Promise<LintResult> {
  const file = join(
    dir,
    `openapi-${createHash('sha256').update(JSON.stringify(document)).digest('hex').slice(0, 8)}.json`,
  );
  await writeFile(file, JSON.stringify(document));
  const run = await promisify(execFile)(
    process.execPath,
    [REDOCLY_CLI, 'lint', file, '--config', REDOCLY_CONFIG, '--format=json'],
    {
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      maxBuffer: 64 * 1024 * 1024,
    },
  ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  return JSON.parse(run.stdout) as LintResult;
}

function operations(doc: Json): Json[] {
  return Object.values(doc['paths'] as Record<string, Json>).flatMap((item) =>
    METHODS.filter((m) => item[m]).map((m) => item[m] as Json),
  );
}

/** Debian's chromium (or CHROMIUM_PATH); CI installs it (.ci/run). */
function findChromium(): string | undefined {
  const candidates = [
    process.env['CHROMIUM_PATH'],
    ...(process.env['PATH'] ?? '')
      .split(delimiter)
      .flatMap((dir) => ['chromium', 'chromium-browser'].map((name) => join(dir, name))),
  ];
  return candidates.find((path): path is string => !!path && existsSync(path));
}
const CHROMIUM = findChromium();

describe('API reference (/docs) and its OpenAPI document', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let doc: Json;
  let dir: string;

  beforeAll(async () => {
    ctx = await createTestContext();
    gateway = await startTestGateway(ctx);
    dir = await mkdtemp(join(tmpdir(), 'orgmesh-docs-'));
    doc = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as Json;
  });

  afterAll(async () => {
    await gateway?.close();
    await ctx?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('passes redocly lint (recommended rules, descriptions, valid examples) with no error and no warning', async () => {
    const result = await lint(doc, dir);
    expect(
      result.problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`),
    ).toEqual([]);
    expect(result.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
  }, 120000);

  it('lint fails on a missing description, an example that breaks its schema and a warning-level rule', async () => {
    const broken = structuredClone(doc);
    delete broken['paths']['/v1/sessions']['get']['description'];
    broken['paths']['/v1/sessions']['post']['requestBody']['content']['application/json']['example'] = {
      agentId: 5,
    };
    delete broken['info']['license'];
    const result = await lint(broken, dir);
    expect(result.problems.map((p) => p.ruleId).sort()).toEqual([
      'info-license',
      'no-invalid-media-type-examples',
      'operation-description',
    ]);
    expect(result.totals.warnings).toBeGreaterThan(0);
  }, 120000);

  it('describes every served operation, with a success example, request examples and path parameter examples', () => {
    const missing: string[] = [];
    for (const op of operations(doc)) {
      const id = String(op['operationId']);
      if (!op['description']) missing.push(`${id}: description`);
      for (const [type, media] of Object.entries(
        (op['requestBody']?.['content'] ?? {}) as Record<string, Json>,
      ))
        if (media['example'] === undefined) missing.push(`${id}: request ${type}`);
      const success = Object.entries(op['responses'] as Record<string, Json>).filter(
        ([s]) => Number(s) < 300,
      );
      expect({ id, successes: success.length > 0 }).toEqual({ id, successes: true });
      for (const [status, response] of success)
        for (const [type, media] of Object.entries((response['content'] ?? {}) as Record<string, Json>))
          if (media['example'] === undefined) missing.push(`${id}: response ${status} ${type}`);
      for (const parameter of (op['parameters'] ?? []) as Json[])
        if (parameter['in'] === 'path' && parameter['example'] === undefined)
          missing.push(`${id}: path parameter ${String(parameter['name'])}`);
    }
    expect(missing).toEqual([]);
    expect(operations(doc).length).toBeGreaterThanOrEqual(31);
  });

  it('serves /docs as an HTML shell that loads the renderer from the gateway and names no other host', async () => {
    const res = await fetch(`${gateway.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    expect(html).toContain(`<script src="${DOCS_RENDERER_PATH}"></script>`);
    expect(html).toContain('"url":"/openapi.json"');
    // Not one absolute URL: no CDN, no font host, nothing that needs the internet.
    expect(html.match(/(?:https?:)?\/\/[^\s"'<>]+/g) ?? []).toEqual([]);
    expect(html).toContain('"withDefaultFonts":false');
    expect(html).toContain('"telemetry":false');
  });

  it('serves the renderer bundle from the package, gzipped when asked, revalidated by ETag', async () => {
    const packaged = await readFile(docsRendererFile());
    expect(packaged.length).toBeGreaterThan(1_000_000);

    const plain = await fetch(`${gateway.url}${DOCS_RENDERER_PATH}`, {
      headers: { 'accept-encoding': 'identity' },
    });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(Buffer.from(await plain.arrayBuffer()).equals(packaged)).toBe(true);

    // fetch() would decompress on its own: read the raw bytes over node:http instead.
    const { request } = await import('node:http');
    const gzipped = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>(
      (resolve, reject) => {
        request(
          `${gateway.url}${DOCS_RENDERER_PATH}`,
          { headers: { 'accept-encoding': 'br, gzip;q=0.8' } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
            res.on('error', reject);
          },
        )
          .on('error', reject)
          .end();
      },
    );
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.body.length).toBeLessThan(packaged.length / 2);
    expect(gunzipSync(gzipped.body).equals(packaged)).toBe(true);

    const etag = plain.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await fetch(`${gateway.url}${DOCS_RENDERER_PATH}`, {
      headers: { 'if-none-match': etag ?? '' },
    });
    expect(again.status).toBe(304);
  });

  (CHROMIUM ? it : it.skip)(
    `renders in a real browser: navigation, the introduction, an operation, try-it, and no request leaves the gateway${CHROMIUM ? '' : ' (skipped: no chromium; set CHROMIUM_PATH)'}`,
    async () => {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const origin = new URL(gateway.url).origin;
        const elsewhere: string[] = [];
        await page.route('**/*', (route) => {
          const url = route.request().url();
          if (url.startsWith(`${origin}/`)) return route.continue();
          elsewhere.push(url);
          return route.abort();
        });
        const errors: string[] = [];
        page.on('pageerror', (error) => errors.push(error.message));
        await page.goto(`${gateway.url}/docs`);

        // Navigation: the introduction and every tag; an operation under its tag.
        const nav = page.getByRole('navigation').or(page.locator('aside')).first();
        await page.getByText('Open a session').first().waitFor({ timeout: 60000 });
        for (const entry of ['Introduction', 'sessions', 'mesh', 'registry', 'events', 'identity', 'Models'])
          await expect(nav.getByText(entry, { exact: true }).first().isVisible()).resolves.toBe(true);

        // Markdown rendered: headings and `code`, not literal backticks.
        await expect(
          page.getByRole('heading', { name: 'First token, first call' }).isVisible(),
        ).resolves.toBe(true);
        await expect(
          page.locator('code', { hasText: 'Authorization: Bearer <token>' }).count(),
        ).resolves.toBeGreaterThan(0);
        await expect(page.getByText('`Authorization: Bearer').count()).resolves.toBe(0);

        // An operation with its example; try-it sends it to the gateway and shows the answer.
        await nav.getByText('identity', { exact: true }).first().click();
        await nav.getByText('Get an access token (OAuth2 client_credentials, dev mode)').first().click();
        const section = page
          .locator('section', { hasText: 'Get an access token (OAuth2 client_credentials, dev mode)' })
          .last();
        await section
          .getByRole('button', { name: /Test Request/i })
          .first()
          .click();
        const answered = page.waitForResponse((res) => res.url() === `${origin}/v1/auth/token`, {
          timeout: 30000,
        });
        await page.getByRole('button', { name: /^Send/ }).first().click();
        const tokenResponse = await answered;
        expect(tokenResponse.status()).toBe(200);
        await page.getByText('access_token').first().waitFor({ timeout: 30000 });

        expect(elsewhere).toEqual([]);
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    180000,
  );
});
