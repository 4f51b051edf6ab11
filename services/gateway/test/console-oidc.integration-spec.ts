import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { createTestContext, freePort, type TestContext } from '@orgmesh/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { startTestGateway } from './gateway-harness.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..', '..');
const AUDIENCE = 'https://orgmesh.test/api';

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

/** oidc-provider in a child process (see console-oidc-provider.server.mjs). */
async function startProvider(
  port: number,
  redirectUri: string,
): Promise<{ issuer: string; child: ChildProcess }> {
  const child = fork(join(HERE, 'console-oidc-provider.server.mjs'), [], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const answer = await new Promise<{ issuer?: string; error?: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { issuer?: string; error?: string }));
    child.once('exit', (code) => reject(new Error(`oidc-provider exited (${code}): ${stderr}`)));
    child.send({ port, audience: AUDIENCE, clientId: 'orgmesh-console', redirectUri });
  });
  if (!answer.issuer) throw new Error(`oidc-provider: ${answer.error ?? 'no issuer'}`);
  return { issuer: answer.issuer, child };
}

/**
 * With AUTH_MODE=oidc the console signs a person in at the organisation's OpenID provider (here the
 * certified oidc-provider with its own login pages): PKCE S256 against the provider, the code
 * redeemed at the provider's token endpoint from the browser (CORS), and the provider's token
 * accepted by the gateway as a person's.
 */
(CHROMIUM ? describe : describe.skip)(
  `the console signs in at an external OpenID provider${CHROMIUM ? '' : ' (skipped: no chromium)'}`,
  () => {
    let ctx: TestContext;
    let gateway: GatewayApp;
    let provider: { issuer: string; child: ChildProcess };
    let browser: Browser;

    beforeAll(async () => {
      execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), 'console'], {
        cwd: ROOT,
        stdio: 'ignore',
      });
      ctx = await createTestContext();
      // The provider's address is chosen first: the gateway names it as its issuer, the provider
      // registers the gateway's /console/ as the console's redirect URI.
      const port = await freePort();
      const issuer = `http://127.0.0.1:${port}`;
      gateway = await startTestGateway(ctx, {
        AUTH_MODE: 'oidc',
        AUTH_ISSUER: issuer,
        AUTH_AUDIENCE: AUDIENCE,
        AUTH_JWKS_URL: `${issuer}/jwks`,
        CONSOLE_OIDC_CLIENT_ID: 'orgmesh-console',
      });
      provider = await startProvider(port, `${gateway.url}/console/`);
      const { chromium } = await import('playwright-core');
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    });

    afterAll(async () => {
      await browser?.close();
      provider?.child.kill('SIGTERM');
      await gateway?.close();
      await ctx?.dispose();
    });

    it("tells the console the provider's endpoints and admits the provider's token endpoint in its CSP", async () => {
      const config = (await (await fetch(`${gateway.url}/console/config.json`)).json()) as Record<
        string,
        string
      >;
      expect(config).toEqual({
        mode: 'oidc',
        authorizationEndpoint: `${provider.issuer}/auth`,
        tokenEndpoint: `${provider.issuer}/token`,
        clientId: 'orgmesh-console',
        scope: 'openid orgmesh:person',
      });
      const page = await fetch(`${gateway.url}/console/`);
      expect(page.headers.get('content-security-policy')).toContain(`connect-src 'self' ${provider.issuer};`);
      // The built-in issuer's pages are not served in oidc mode.
      expect((await fetch(`${gateway.url}/v1/auth/authorize`)).status).toBe(404);
    });

    it('answers 503 naming the cause when the console has no client or the provider cannot be read', async () => {
      const deadPort = await freePort();
      const unconfigured = await startTestGateway(ctx, {
        AUTH_MODE: 'oidc',
        AUTH_ISSUER: provider.issuer,
        AUTH_AUDIENCE: AUDIENCE,
        AUTH_JWKS_URL: `${provider.issuer}/jwks`,
      });
      const unreachable = await startTestGateway(ctx, {
        AUTH_MODE: 'oidc',
        AUTH_ISSUER: `http://127.0.0.1:${deadPort}`,
        AUTH_AUDIENCE: AUDIENCE,
        AUTH_JWKS_URL: `http://127.0.0.1:${deadPort}/jwks`,
        CONSOLE_OIDC_CLIENT_ID: 'orgmesh-console',
      });
      try {
        const noClient = await fetch(`${unconfigured.url}/console/config.json`);
        expect(noClient.status).toBe(503);
        expect(await noClient.json()).toMatchObject({
          code: 'unavailable',
          detail: expect.stringContaining('CONSOLE_OIDC_CLIENT_ID'),
        });
        const down = await fetch(`${unreachable.url}/console/config.json`);
        expect(down.status).toBe(503);
        expect(await down.json()).toMatchObject({
          detail: "the OpenID provider's discovery document could not be read",
        });
        // The page itself still loads (its CSP then admits only the gateway) and shows the refusal on sign-in.
        const page = await fetch(`${unreachable.url}/console/`);
        expect(page.status).toBe(200);
        expect(page.headers.get('content-security-policy')).toContain("connect-src 'self';");
      } finally {
        await unconfigured.close();
        await unreachable.close();
      }
    });

    it('refuses a discovery document without a usable endpoint, and keeps what it read for a while', async () => {
      // A provider whose discovery document names no token endpoint (and counts how often it is read).
      let reads = 0;
      let document: Record<string, unknown> = { authorization_endpoint: 'http://127.0.0.1/auth' };
      const server = createServer((_req, res) => {
        reads++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(document));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      const broken = await startTestGateway(ctx, {
        AUTH_MODE: 'oidc',
        AUTH_ISSUER: `http://127.0.0.1:${port}`,
        AUTH_AUDIENCE: AUDIENCE,
        AUTH_JWKS_URL: `http://127.0.0.1:${port}/jwks`,
        CONSOLE_OIDC_CLIENT_ID: 'orgmesh-console',
      });
      try {
        const refused = await fetch(`${broken.url}/console/config.json`);
        expect(refused.status).toBe(503);
        expect(await refused.json()).toMatchObject({
          detail: "the OpenID provider's discovery document has no valid token_endpoint",
        });
        document = {
          authorization_endpoint: 'ftp://127.0.0.1/auth',
          token_endpoint: 'http://127.0.0.1/token',
        };
        expect(await (await fetch(`${broken.url}/console/config.json`)).json()).toMatchObject({
          detail: "the OpenID provider's discovery document has no valid authorization_endpoint",
        });
        document = {
          authorization_endpoint: 'http://127.0.0.1/auth',
          token_endpoint: 'http://127.0.0.1/token',
        };
        expect((await fetch(`${broken.url}/console/config.json`)).status).toBe(200);
        const before = reads;
        expect((await fetch(`${broken.url}/console/config.json`)).status).toBe(200);
        expect(reads).toBe(before);
      } finally {
        await broken.close();
        server.close();
      }
    });

    it("signs a person in at the provider's login page, and the gateway accepts the token as that person's", async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      try {
        await page.goto(`${gateway.url}/console/`);
        await page.getByRole('button', { name: 'Sign in' }).click();
        // oidc-provider's own sign-in page (devInteractions): the console never sees the password.
        await page.waitForURL((url) => url.origin === provider.issuer);
        await page.locator('input[name="login"]').fill('u00002');
        await page.locator('input[name="password"]').fill('any password the provider accepts');
        await page.locator('button[type="submit"]').click();
        // Then the provider asks the person to let the console act for them (its consent page).
        await page.getByText('orgmesh:person').first().waitFor();
        await page.getByRole('button', { name: 'Continue' }).click();
        await page.waitForURL(`${gateway.url}/console/`);
        await page.getByRole('heading', { level: 1, name: 'Approvals' }).waitFor();
        await page.getByText('u00002', { exact: true }).waitFor();
        const whoami = await page.evaluate(async () => {
          const session = JSON.parse(sessionStorage.getItem('orgmesh.console.token') ?? '{}') as {
            accessToken?: string;
          };
          const res = await fetch('/v1/auth/whoami', {
            headers: { authorization: `Bearer ${session.accessToken ?? ''}` },
          });
          return { status: res.status, body: (await res.json()) as unknown };
        });
        expect(whoami).toEqual({
          status: 200,
          body: {
            subject: 'u00002',
            role: 'person',
            kind: 'person',
            tenant: 'default',
            scopes: ['orgmesh:person'],
          },
        });
      } catch (error) {
        // What the page showed when it failed (not committed).
        await page
          .screenshot({ path: join(tmpdir(), 'orgmesh-console-oidc-failure.png') })
          .catch(() => undefined);
        throw new Error(
          `${String(error)}\nat ${page.url()}: ${(
            await page
              .locator('body')
              .innerText()
              .catch(() => '')
          ).slice(0, 500)}`,
        );
      } finally {
        await context.close();
      }
    }, 60_000);
  },
);
