import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { readFileSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestContext, type TestContext } from '@orgmesh/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { startTestGateway } from './gateway-harness.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DIST = join(ROOT, 'console', 'dist');

/** A raw GET (fetch would decompress and hide Content-Encoding; node:http shows the bytes as sent). */
function get(
  gateway: GatewayApp,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${gateway.url}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

// The console's files at /console/, from the build `npm run build` makes (ADR 0020).
describe('the console served by the gateway at /console/', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let unbuilt: GatewayApp;
  let script: string;

  beforeAll(async () => {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), 'console'], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    script = readdirSync(join(DIST, 'assets')).find((f) => f.endsWith('.js')) ?? '';
    ctx = await createTestContext();
    gateway = await startTestGateway(ctx, {}, { consoleDir: DIST });
    unbuilt = await startTestGateway(
      ctx,
      {},
      { consoleDir: await mkdtemp(join(tmpdir(), 'orgmesh-no-console-')) },
    );
  });

  afterAll(async () => {
    await gateway?.close();
    await unbuilt?.close();
    await ctx?.dispose();
  });

  it('serves index.html revalidated by ETag, with a CSP that allows only the gateway', async () => {
    const page = await get(gateway, '/console/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.body.toString('utf8')).toBe(readFileSync(join(DIST, 'index.html'), 'utf8'));
    expect(page.body.toString('utf8')).toContain(`/console/assets/${script}`);
    // Nothing from a CDN: every script and stylesheet the page names is the gateway's own.
    expect(page.body.toString('utf8')).not.toMatch(/(src|href)="(https?:)?\/\//);
    const again = await get(gateway, '/console/', { 'if-none-match': String(page.headers['etag']) });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  it('serves hashed assets with their content type, cached for a year, gzipped when accepted', async () => {
    const plain = await get(gateway, `/console/assets/${script}`);
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.equals(readFileSync(join(DIST, 'assets', script)))).toBe(true);
    const gz = await get(gateway, `/console/assets/${script}`, { 'accept-encoding': 'gzip, br' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers['vary']).toBe('Accept-Encoding');
    expect(gunzipSync(gz.body).equals(plain.body)).toBe(true);
    expect(gz.body.length).toBeLessThan(plain.body.length / 2);
    const css = readdirSync(join(DIST, 'assets')).find((f) => f.endsWith('.css'));
    expect((await get(gateway, `/console/assets/${css}`)).headers['content-type']).toBe(
      'text/css; charset=utf-8',
    );
  });

  it('redirects /console to /console/ keeping the query, answers index.html for a page path, 404 for a missing file', async () => {
    const bare = await get(gateway, '/console?code=abc&state=x');
    expect(bare.status).toBe(308);
    expect(bare.headers['location']).toBe('/console/?code=abc&state=x');
    const pagePath = await get(gateway, '/console/approvals');
    expect(pagePath.status).toBe(200);
    expect(pagePath.headers['content-type']).toBe('text/html; charset=utf-8');
    const missing = await get(gateway, '/console/assets/nope.js');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toBe('application/problem+json');
  });

  it('never reads outside the build directory', async () => {
    for (const path of [
      '/console/..%2f..%2fpackage.json',
      '/console/assets/..%2f..%2f..%2fpackage.json',
      '/console/.build-stamp',
      '/console/%2e%2e/package.json',
    ]) {
      const res = await get(gateway, path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
  });

  it('says the console is not built (503, naming npm run build) when there is no build', async () => {
    const res = await get(unbuilt, '/console/');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body.toString('utf8'))).toMatchObject({
      code: 'unavailable',
      detail: expect.stringContaining('npm run build'),
    });
  });

  it('keeps the console files out of the OpenAPI document', async () => {
    const doc = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(
      Object.keys(doc.paths).filter((p) => p.startsWith('/console') || p === '/v1/auth/authorize'),
    ).toEqual([]);
  });
});
