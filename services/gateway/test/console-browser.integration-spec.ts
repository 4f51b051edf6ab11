import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Task } from '@orgmesh/contracts';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
// The real services run in-process behind the gateway, as in the other gateway integration tests.
import { DEMO_ORG_CHART, DEMO_REGISTRY_DIR, startTestRegistry } from '@orgmesh/registry/testing';
import { startTestSessions } from '@orgmesh/sessions/testing';
import { testConfig as meshTestConfig, startMeshRouterApp } from '@orgmesh/mesh-router/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { readOrgChartPeople } from '../src/auth/people.js';
import {
  api,
  devToken,
  silentLogger,
  startTestGateway,
  type TestMeshRouter,
  type TestRegistry,
  type TestSessions,
} from './gateway-harness.js';
import { startPrivacyData, visitPrivacyAndUsage } from './console-privacy-pages.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SHOTS = join(ROOT, 'docs', 'console');

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

// Yara Quinn heads Finance's reporting line in the demo org chart (u00002, reports to the CEO).
const APPROVER = 'u00002';
const PASSWORD = `console-test-${randomUUID()}`;

/**
 * The console in real headless Chromium against the whole stack (gateway, registry, mesh router,
 * sessions on real NATS and Postgres): a person signs in with PKCE, sees the approval an agent asked
 * them for, approves it, and sees it complete. Screenshots of every page go to docs/console/, the
 * load figures to docs/console/load-timing.json (quoted in console/README.md).
 */
(CHROMIUM ? describe : describe.skip)(
  `the console in a real browser${CHROMIUM ? '' : ' (skipped: no chromium; set CHROMIUM_PATH)'}`,
  () => {
    let ctx: TestContext;
    let gateway: GatewayApp;
    let registry: TestRegistry;
    let mesh: TestMeshRouter;
    let sessions: TestSessions;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let privacyData: { close(): Promise<void> };
    const jsBytes = new Map<string, { encoded: number; decoded: number; encoding: string }>();

    beforeAll(async () => {
      // The console is built like `npm run build` builds it (skipped when up to date).
      execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), 'console'], {
        cwd: ROOT,
        stdio: 'ignore',
      });
      ctx = await createTestContext();
      gateway = await startTestGateway(
        ctx,
        {},
        {
          people: {
            people: readOrgChartPeople(DEMO_REGISTRY_DIR),
            passwords: new Map([[APPROVER, PASSWORD]]),
          },
        },
      );
      registry = await startTestRegistry(ctx, {
        overrides: { REGISTRY_AUTH: 'on', AUTH_ISSUER: gateway.url, GATEWAY_URL: gateway.url },
      });
      mesh = await startMeshRouterApp(meshTestConfig(ctx, { AUTH_ISSUER: gateway.url }), {
        logger: silentLogger,
        migrate: true,
        startJobs: false,
      });
      sessions = await startTestSessions(ctx);
      privacyData = await startPrivacyData(ctx, gateway);
      const admin = await devToken(gateway, 'admin');
      const imported = await api(gateway, 'POST', '/v1/org/import', {
        token: admin,
        body: { csv: readFileSync(DEMO_ORG_CHART, 'utf8'), fileName: 'org-chart.csv' },
      });
      expect(imported.status).toBe(200);
      const { chromium } = await import('playwright-core');
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
      page = await context.newPage();
      // The JavaScript of the first load as it crossed the wire: the gateway sends gzip with its length.
      page.on('response', (response) => {
        const url = new URL(response.url());
        if (!url.pathname.endsWith('.js') || response.status() !== 200 || jsBytes.has(url.pathname)) return;
        const headers = response.headers();
        jsBytes.set(url.pathname, {
          encoded: Number(headers['content-length'] ?? -1),
          decoded: -1,
          encoding: headers['content-encoding'] ?? 'identity',
        });
        void response.body().then((body) => {
          const entry = jsBytes.get(url.pathname);
          if (entry) entry.decoded = body.length;
        });
      });
    });

    afterAll(async () => {
      await browser?.close();
      await privacyData?.close();
      await gateway?.close();
      await mesh?.close();
      await registry?.close();
      await sessions?.close();
      await ctx?.dispose();
    });

    const shot = async (name: string, target: Page = page) => {
      await mkdir(SHOTS, { recursive: true });
      await target.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    };

    const interactiveMs = (target: Page) =>
      target.evaluate(() => {
        const mark = performance.getEntriesByName('console-interactive')[0];
        return mark ? Math.round(mark.startTime) : -1;
      });

    it('signs a person in, shows the approval waiting for them, approves it and shows it completed', async () => {
      try {
        await journey();
      } catch (error) {
        // What the page showed when it failed, for whoever reads the failure (not committed).
        await page
          ?.screenshot({ path: join(tmpdir(), 'orgmesh-console-failure.png'), fullPage: true })
          .catch(() => undefined);
        throw error;
      }
    }, 120_000);

    async function journey(): Promise<void> {
      const finance = await devToken(gateway, 'finance-agent');
      const contextId = `ctx-console-${randomUUID()}`;
      const session = await api<{ id: string }>(gateway, 'POST', '/v1/sessions', {
        token: finance,
        body: { agentId: 'finance-agent', contextId, metadata: { ticket: 'FIN-125K' } },
      });
      expect(session.status).toBe(201);
      const requested = await api<Task>(gateway, 'POST', '/v1/approvals', {
        token: finance,
        body: {
          to: 'manager',
          approver: APPROVER,
          subject: 'Q3 hiring budget of $45K',
          // Below the manager profile's 100k rule (which asks the Manager agent first): the approver named here decides.
          details: { amount: 45_000, currency: 'USD', purpose: 'Two analysts for the close' },
          priority: 'high',
          contextId,
        },
      });
      expect(requested.status).toBe(202);
      // A second one, which "another tab" decides first: the console then shows the mesh's 409.
      const travel = await api<Task>(gateway, 'POST', '/v1/approvals', {
        token: finance,
        body: {
          to: 'manager',
          approver: APPROVER,
          subject: 'Conference travel of $3K',
          details: { amount: 3_000 },
          contextId,
        },
      });
      expect(travel.status).toBe(202);

      // First load, cold (empty cache): the sign-in screen. Twice more in fresh contexts, once the
      // browser process itself is warm: the first navigation of a new Chromium also pays its start-up.
      const started = Date.now();
      await page.goto(`${gateway.url}/console/`);
      await page.waitForSelector('html[data-ready="true"]');
      const coldInteractiveMs = await interactiveMs(page);
      const coldWallMs = Date.now() - started;
      const warmBrowserColdMs: number[] = [];
      for (let i = 0; i < 2; i++) {
        const fresh = await browser.newContext();
        const other = await fresh.newPage();
        await other.goto(`${gateway.url}/console/`);
        await other.waitForSelector('html[data-ready="true"]');
        warmBrowserColdMs.push(await interactiveMs(other));
        await fresh.close();
      }
      await shot('sign-in');
      await page.getByRole('button', { name: 'Sign in' }).click();

      // The issuer's own sign-in form; a wrong password first, then the right one.
      await page.waitForURL(/\/v1\/auth\/authorize\?/);
      await page.getByLabel('User id or email').fill(APPROVER);
      await page.getByLabel('Password').fill('not-the-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByRole('alert').textContent()).resolves.toContain('Wrong user id or password');
      await shot('login-form');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();

      // Back at the console with a code: redeemed, the inbox shows what waits for this person.
      await page.waitForURL(`${gateway.url}/console/`);
      await page.waitForSelector('html[data-ready="true"]');
      const signedInInteractiveMs = await interactiveMs(page);
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Approvals');
      const card = page.getByRole('article', { name: 'Q3 hiring budget of $45K' });
      await card.waitFor({ timeout: 15_000 });
      await expect(card.textContent()).resolves.toContain('finance-agent (finance)');
      const travelCard = page.getByRole('article', { name: 'Conference travel of $3K' });
      await travelCard.waitFor({ timeout: 15_000 });
      await shot('approvals');

      // Decided elsewhere first (the same person's token, as another tab would), then clicked here:
      // the refusal in plain words, with the problem's title and its detail naming the earlier decision.
      const elsewhere = await page.evaluate(async (id) => {
        const session = JSON.parse(sessionStorage.getItem('orgmesh.console.token') ?? '{}') as {
          accessToken?: string;
        };
        const res = await fetch(`/v1/tasks/${id}/decision`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${session.accessToken ?? ''}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ decision: 'reject', comment: 'Decided in another tab.' }),
        });
        return res.status;
      }, travel.body.id);
      expect(elsewhere).toBe(200);
      // The decision's task change reaches this page over the event stream: the card stays (it may hold a
      // comment being written) and says it no longer waits for this person.
      await travelCard.getByText(/No longer waiting for you/).waitFor({ timeout: 8_000 });
      await travelCard.getByRole('button', { name: 'Approve' }).click();
      const refusal = travelCard.getByRole('alert');
      await refusal.waitFor();
      const refusalText = (await refusal.textContent()) ?? '';
      expect(refusalText).toContain('This approval was already decided.');
      expect(refusalText).toMatch(/reject/);
      await shot('approvals-refusal');

      // By keyboard: the comment, then Tab to Approve and Enter.
      await card.getByLabel('Comment (optional)').focus();
      await page.keyboard.type('Within the hiring plan.');
      await page.keyboard.press('Tab');
      await expect(
        page.evaluate('document.activeElement && document.activeElement.textContent'),
      ).resolves.toBe('Approve');
      await page.keyboard.press('Enter');
      const notice = page.getByRole('region', { name: 'Waiting for me' }).getByRole('status');
      await notice.getByText('You approved “Q3 hiring budget of $45K”.').waitFor({ timeout: 15_000 });
      const decided = page.getByRole('region', { name: 'What I decided' });
      await decided
        .getByRole('row', { name: /Q3 hiring budget of \$45K.*approve.*Within the hiring plan\..*completed/ })
        .waitFor({ timeout: 15_000 });
      await expect(card.count()).resolves.toBe(0);
      await shot('approvals-decided');

      // A new approval reaches the open inbox over the event stream (the person's stream carries their
      // approvals' changes; the console polls, every 30 s, only while the stream fails): it shows
      // within seconds, without a reload.
      const offsite = await api<Task>(gateway, 'POST', '/v1/approvals', {
        token: finance,
        body: { to: 'manager', approver: APPROVER, subject: 'Team offsite of $2K', details: { amount: 2_000 }, contextId },
      });
      expect(offsite.status).toBe(202);
      await page.getByRole('article', { name: 'Team offsite of $2K' }).waitFor({ timeout: 8_000 });

      // Delegation: to oneself is refused (shown in plain words), to a colleague until tomorrow is recorded.
      const delegate = page.getByRole('region', { name: 'Delegate my approvals' });
      const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 16);
      await delegate.getByLabel('To (user id)').fill(APPROVER);
      await delegate.getByLabel('Until').fill(tomorrow);
      await delegate.getByRole('button', { name: 'Delegate' }).click();
      await delegate.getByRole('alert').waitFor();
      await expect(delegate.getByRole('alert').textContent()).resolves.toContain(
        'Something in the request is not right.',
      );
      await delegate.getByLabel('To (user id)').fill('u00003');
      await delegate.getByRole('button', { name: 'Delegate' }).click();
      await delegate
        .getByRole('status')
        .getByText(/u00003 decides what waits for u00002, on your behalf\./)
        .waitFor();
      const given = delegate.getByRole('list', { name: 'Delegations I gave' });
      await given.getByText(/u00003 decides for me until/).waitFor();
      await given.getByRole('button', { name: 'Revoke' }).click();
      await delegate.getByRole('status').getByText('u00003 no longer decides for you.').waitFor();
      // The status shows before the list's reload answers: wait for the list to go.
      await delegate.getByRole('list', { name: 'Delegations I gave' }).waitFor({ state: 'detached' });

      // The mesh agrees: the approval is completed with this person's decision.
      const admin = await devToken(gateway, 'admin');
      await expectEventually(async () => {
        const task = await api<Task>(gateway, 'GET', `/v1/tasks/${requested.body.id}`, { token: admin });
        expect(task.body).toMatchObject({
          state: 'completed',
          decision: { decision: 'approve', comment: 'Within the hiring plan.' },
        });
      });

      // A person reaches their approvals only: the operator pages say so and show the refusal in plain words.
      await page.getByRole('link', { name: 'Sessions & tasks' }).click();
      await page.getByText('You are not allowed to do this.').first().waitFor();
      await expect(page.getByRole('alert').first().textContent()).resolves.toContain('Forbidden');
      await shot('activity-as-person');

      // Phone width and the dark scheme, same tab (sessionStorage is per tab: a new page signs in again).
      await page.setViewportSize({ width: 390, height: 844 });
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.getByRole('link', { name: 'Approvals' }).click();
      await decided.waitFor();
      await shot('approvals-phone-dark');

      // Keyboard: after a load the skip link is the first stop, and it moves the focus into the page.
      await page.reload();
      await page.waitForSelector('html[data-ready="true"]');
      await page.keyboard.press('Tab');
      await expect(
        page.evaluate('document.activeElement && document.activeElement.textContent'),
      ).resolves.toBe('Skip to content');
      await page.keyboard.press('Enter');
      await expect(page.evaluate('document.activeElement && document.activeElement.id')).resolves.toBe(
        'main',
      );

      // A token the gateway no longer accepts (here: a forged one) sends the console back to its sign-in, saying why.
      await page.evaluate(() => {
        const session = JSON.parse(sessionStorage.getItem('orgmesh.console.token') ?? '{}') as Record<
          string,
          unknown
        >;
        sessionStorage.setItem(
          'orgmesh.console.token',
          JSON.stringify({ ...session, accessToken: 'not.a.token' }),
        );
      });
      await page.reload();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await expect(page.getByRole('alert').textContent()).resolves.toContain(
        'Your sign-in is missing or has expired. Sign in again.',
      );

      await operatorPages(contextId);
      const js = [...jsBytes.values()];
      const timing = {
        measuredAt: new Date().toISOString(),
        jsFiles: js.length,
        jsBytesGzipped: js.reduce((n, f) => n + f.encoded, 0),
        jsBytes: js.reduce((n, f) => n + f.decoded, 0),
        coldLoad: {
          interactiveMs: coldInteractiveMs,
          wallMs: coldWallMs,
          note: 'first navigation of a new browser, empty cache',
        },
        coldLoadWarmBrowser: {
          interactiveMsFirst: warmBrowserColdMs[0],
          interactiveMsSecond: warmBrowserColdMs[1],
          note: 'new context (empty cache) in a running browser',
        },
        signedInLoad: {
          interactiveMs: signedInInteractiveMs,
          note: 'after the redirect back: code redeemed, first page rendered',
        },
      };
      await writeFile(join(SHOTS, 'load-timing.json'), `${JSON.stringify(timing, null, 2)}\n`);
      expect(js.map((f) => f.encoding)).toEqual(js.map(() => 'gzip'));
      expect(timing.jsBytesGzipped).toBeGreaterThan(0);
      expect(timing.jsBytesGzipped).toBeLessThanOrEqual(300 * 1024);
      expect(coldInteractiveMs).toBeGreaterThan(0);
      // The budget (issue 23): interactive within a second from an empty cache.
      expect(Math.min(coldInteractiveMs, ...warmBrowserColdMs)).toBeLessThanOrEqual(1000);
    }

    /**
     * The operator pages with an operator's token. The console signs in people only (PKCE at the dev
     * issuer), and the gateway lets a person reach their approvals only; an operator's sign-in (admin
     * or viewer scopes from an OpenID provider) is not built yet, so the test puts the admin dev
     * client's token where the console keeps its sign-in, and checks the pages against the real APIs.
     */
    async function operatorPages(contextId: string): Promise<void> {
      const token = (await (
        await fetch(`${gateway.url}/v1/auth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            grant_type: 'client_credentials',
            client_id: 'admin',
            client_secret: 'admin-dev-secret',
          }),
        })
      ).json()) as { access_token: string; expires_in: number };
      const operator = await browser.newContext({
        viewport: { width: 1280, height: 860 },
        colorScheme: 'light',
      });
      await operator.addInitScript(
        (session) => sessionStorage.setItem('orgmesh.console.token', session),
        JSON.stringify({
          accessToken: token.access_token,
          expiresAt: Date.now() + token.expires_in * 1000,
          subject: 'admin',
          role: 'admin',
          scopes: ['orgmesh:admin', 'orgmesh:read'],
        }),
      );
      const ops = await operator.newPage();
      try {
        await ops.goto(`${gateway.url}/console/#/activity`);
        const tasks = ops.getByRole('region', { name: /^Tasks \(/ });
        await tasks
          .getByRole('row', { name: /Q3 hiring budget of \$45K.*completed/ })
          .waitFor({ timeout: 15_000 });
        await ops.getByText('Live stream: live').waitFor({ timeout: 15_000 });
        // Live: a task sent now appears without a reload, over the event stream.
        const sent = await api<Task>(gateway, 'POST', '/v1/tasks', {
          token: await devToken(gateway, 'finance-agent'),
          body: { to: 'finance', type: 'invoice-check', input: { invoice: 'INV-2026-007' }, contextId },
        });
        expect(sent.status).toBe(202);
        await tasks.getByRole('row', { name: /invoice-check.*submitted/ }).waitFor({ timeout: 15_000 });
        await tasks.getByRole('button', { name: contextId }).first().click();
        // The workflow's timeline from the services: the session, the approval decided by the person, the task.
        const timeline = ops.getByRole('region', { name: `Timeline of workflow ${contextId}` });
        await timeline
          .getByText(/approval “Q3 hiring budget of \$45K” decided: approve — “Within the hiring plan\.”/)
          .waitFor({ timeout: 15_000 });
        await timeline
          .getByText(/task invoice-check finance-agent → finance: new → submitted/)
          .waitFor({ timeout: 15_000 });
        await expect(timeline.getByText(/ session \S+ → \S+ \(/).count()).resolves.toBeGreaterThan(0);
        await ops.getByLabel('Agent').fill('finance');
        await shot('activity', ops);

        await ops.getByRole('link', { name: 'Agents' }).click();
        await ops.getByRole('button', { name: 'finance-agent' }).click();
        await ops.getByRole('heading', { name: 'Effective profile' }).waitFor();
        const detail = ops.getByRole('region', { name: 'Agent finance-agent' });
        await detail.getByText('Presence', { exact: true }).waitFor({ timeout: 15_000 });
        await detail.getByText('Drift', { exact: true }).waitFor();
        await detail.locator('details summary code').first().waitFor({ timeout: 15_000 });
        await shot('agents', ops);

        await visitPrivacyAndUsage(ops, shot);

        await ops.getByRole('link', { name: 'Admin' }).click();
        await ops.getByLabel('Org chart CSV').setInputFiles(DEMO_ORG_CHART);
        await ops.getByText('No problem found in the browser.').waitFor();
        await ops.getByText(/^60 people in /).waitFor();
        await ops.getByRole('button', { name: 'Import 60 people' }).click();
        await ops.getByText(/^Imported 60 people \(org version \d+\)\.$/).waitFor({ timeout: 15_000 });
        // Registry reload from the directory the registry itself loaded: validated, stored, unchanged.
        await ops.getByLabel('Registry directory').setInputFiles(DEMO_REGISTRY_DIR);
        await ops.getByRole('button', { name: /^Load \d+ files$/ }).click();
        await ops
          .getByText(/^Unchanged \(version \d+\): 6 roles, 26 agents, 7 profiles\.$/)
          .waitFor({ timeout: 15_000 });
        await shot('admin', ops);
      } catch (error) {
        await ops
          .screenshot({ path: join(tmpdir(), 'orgmesh-console-operator-failure.png'), fullPage: true })
          .catch(() => undefined);
        throw error;
      } finally {
        await operator.close();
      }
    }
  },
);
