import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { runMigrations } from '@orgmesh/migrations';
import { createTestContext, type TestContext } from '@orgmesh/testing';
import { api, type ScenarioTask } from '../src/scenario.js';
import { startSuite, type RunningSuite } from '../src/suite.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Debian's chromium (or CHROMIUM_PATH), as the console's browser test finds it; CI installs it (.ci/run). */
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

/** `node scripts/demo.mjs <args>` against the suite, its output collected line by line as it comes. */
class DemoRun {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [join(root, 'scripts/demo.mjs'), ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    const onData = (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts);
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        if (partial) this.lines.push(partial);
        resolve(code);
      }),
    );
  }

  get output(): string {
    return this.lines.join('\n');
  }

  /** The first output line matching `pattern`, waiting for it (the demo's own progress, not a sleep). */
  async line(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const line of this.lines) {
        const match = pattern.exec(line);
        if (match) return match;
      }
      if (this.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`the demo printed no line matching ${pattern} (exit ${this.child.exitCode}):\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async exit(timeoutMs: number): Promise<number | null> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * `npm run demo -- --human` (issue 23 item 4) against the whole suite, every service and agent its
 * own OS process from the built dist on the real NATS and Postgres of the run, as the scenario e2e
 * test runs it: the Manager agent hands the $125K approval on, the manager profile's rule routes it
 * to the head of Finance's reporting line (Yara Quinn, u00002); the demo prints who decides and the
 * console URL and waits; in real headless Chromium that person signs in at the printed URL with the
 * dev password the gateway printed at startup and approves; the demo reports Finance completed.
 */
(CHROMIUM ? describe : describe.skip)(
  `e2e: the demo with a person (npm run demo -- --human)${CHROMIUM ? '' : ' (skipped: no chromium; set CHROMIUM_PATH)'}`,
  () => {
    let ctx: TestContext;
    let suite: RunningSuite | undefined;
    let browser: Browser | undefined;
    let recordFile: string;
    let logDir: string;
    const runs: DemoRun[] = [];
    const demo = (args: string[], env: Record<string, string> = {}) => {
      const run = new DemoRun(args, {
        DEMO_GATEWAY_URL: suite!.gatewayUrl,
        DEMO_PROXY_URL: suite!.proxyUrl,
        DEMO_MODEL_RECORD_FILE: recordFile,
        ...env,
      });
      runs.push(run);
      return run;
    };

    beforeAll(async () => {
      // The services, the agents, e2e/dist (the demo imports it) and the console.
      execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'ignore' });
      ctx = await createTestContext();
      for (const service of ['sessions', 'mesh', 'registry'])
        await runMigrations({ url: ctx.databaseUrl, service });
      const dir = mkdtempSync(join(tmpdir(), 'orgmesh-e2e-human-'));
      logDir = join(dir, 'logs');
      mkdirSync(logDir);
      recordFile = join(dir, 'upstream-requests.jsonl');
      suite = await startSuite({
        root,
        natsUrl: ctx.natsUrl,
        databaseUrl: ctx.databaseUrl,
        subjectPrefix: ctx.subjectPrefix,
        nameSuffix: ctx.nameSuffix,
        logDir,
        recordFile,
      });
      const { chromium } = await import('playwright-core');
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    }, 240_000);

    afterAll(async () => {
      for (const run of runs) if (run.child.exitCode === null) run.child.kill('SIGKILL');
      await browser?.close();
      await suite?.stop();
      await ctx?.dispose();
    }, 60_000);

    /** The dev password the gateway printed for a person at startup (its "people of the org chart" lines). */
    function printedPassword(userId: string): string {
      const log = readFileSync(join(logDir, 'gateway.log'), 'utf8');
      const match = new RegExp(`^\\s+${userId}\\s+(\\S+)\\s+\\S`, 'm').exec(log);
      if (!match?.[1]) throw new Error(`the gateway printed no password for ${userId}; see ${logDir}/gateway.log`);
      return match[1];
    }

    it('waits for the head of Finance\'s line, who signs in at the printed console URL and approves; Finance completes', async () => {
      const run = demo(['--human'], { DEMO_HUMAN_TIMEOUT: '300' });
      let page: Page | undefined;
      try {
        // The demo names the person the mesh routed the approval to, and where to decide it.
        const waiting = await run.line(/^Waiting for a person: (.+) \((u\d+), ([a-z-]+)\) decides "(.+)"\.$/, 120_000);
        expect(waiting.slice(1, 3)).toEqual(['Yara Quinn', 'u00002']);
        const subject = waiting[4]!;
        expect(subject).toMatch(/Q1 Engineering budget/);
        const consoleUrl = (await run.line(/^ {2}Open the console: (\S+)$/, 5_000))[1]!;
        expect(consoleUrl).toBe(`${suite!.gatewayUrl}/console/`);
        await run.line(/Sign in as u00002 with the dev password npm start printed/, 5_000);
        // It keeps saying it waits while nobody has decided (every 15 s).
        await run.line(/^ {2}… still waiting for Yara Quinn \(u00002\) to decide at /, 30_000);
        expect(run.child.exitCode).toBeNull();

        const context = await browser!.newContext({ viewport: { width: 1280, height: 860 } });
        page = await context.newPage();
        await page.goto(consoleUrl);
        await page.waitForSelector('html[data-ready="true"]');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.waitForURL(/\/v1\/auth\/authorize\?/);
        await page.getByLabel('User id or email').fill('u00002');
        await page.getByLabel('Password').fill(printedPassword('u00002'));
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.waitForURL(consoleUrl);
        await page.waitForSelector('html[data-ready="true"]');
        const card = page.getByRole('article', { name: subject });
        await card.waitFor({ timeout: 15_000 });
        await expect(card.textContent()).resolves.toContain('finance-agent (finance)');
        await card.getByLabel('Comment (optional)').fill('Approved for Q1: Legal sign-off filed with the budget.');
        // The demo's request as its approver sees it, beside the console's other pages (docs/console/).
        await mkdir(join(root, 'docs', 'console'), { recursive: true });
        await page.screenshot({ path: join(root, 'docs', 'console', 'demo-human-approval.png'), fullPage: true });
        await card.getByRole('button', { name: 'Approve' }).click();
        await page
          .getByRole('region', { name: 'Waiting for me' })
          .getByRole('status')
          .getByText(`You approved “${subject}”.`)
          .waitFor({ timeout: 15_000 });

        // The demo sees the decision, Finance resumes and completes, and every check passes.
        const code = await run.exit(120_000);
        expect([code, run.output]).toEqual([0, expect.stringContaining('Scenario succeeded (with a person)')]);
      } catch (error) {
        await page?.screenshot({ path: join(tmpdir(), 'orgmesh-demo-human-failure.png'), fullPage: true }).catch(() => undefined);
        process.stdout.write(`demo output:\n${run.output}\n`);
        throw error;
      }
      const output = run.output;
      process.stdout.write(`${output}\n`);
      expect(output).toContain('The person decided: Finance\'s task completed.');
      for (const check of [
        '✓ 1. Finance requested approval from Manager',
        '✓ 2. the Manager agent asked for a person (input-required) — by manager-agent',
        "✓ 3. the manager profile's rule routed it to a person — Yara Quinn (u00002)",
        '✓ 4. that person approved — approve by u00002: Approved for Q1: Legal sign-off filed with the budget.',
        '✓ 5. Finance completed — completed, outcome approved',
        '✓ session of finance-agent: activate → pause → resume → complete',
        '✓ session of manager-agent: activate → pause → resume → complete',
      ])
        expect([check, output.includes(check)]).toEqual([check, true]);
      expect(output).not.toMatch(/^ {2}✗/m);

      // The mesh agrees, read back through the gateway as the admin: the approval was the person's decision.
      const contextId = (await run.line(/^Timeline of workflow (\S+) /, 1_000))[1]!;
      const admin = await fetch(`${suite!.gatewayUrl}/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credentials', client_id: 'admin', client_secret: 'admin-dev-secret' }),
      }).then(async (res) => ((await res.json()) as { access_token: string }).access_token);
      const { items } = await api<{ items: ScenarioTask[] }>(
        suite!.gatewayUrl,
        admin,
        'GET',
        `/v1/tasks?contextId=${encodeURIComponent(contextId)}&limit=100`,
      );
      expect(items.map((t) => [t.kind, t.type ?? t.kind, t.state]).sort()).toEqual([
        ['approval', 'approval', 'completed'],
        ['task', 'budget-request', 'completed'],
      ]);
      const approval = items.find((t) => t.kind === 'approval')!;
      expect(approval).toMatchObject({
        escalatedTo: { userId: 'u00002', name: 'Yara Quinn' },
        decision: { decision: 'approve', decidedBy: { agentId: 'u00002' } },
      });
      expect(items.find((t) => t.kind === 'task')!.result).toMatchObject({ outcome: 'approved', decided_by: expect.anything() });
    }, 300_000);

    it('says clearly when nobody decides within DEMO_HUMAN_TIMEOUT, naming who the approval still waits for, and exits 1', async () => {
      const run = demo(['--human'], { DEMO_HUMAN_TIMEOUT: '25' });
      const code = await run.exit(90_000);
      expect(code).toBe(1);
      expect(run.output).toMatch(
        /^Nobody decided within 25 s: the approval still waits for u00002 at http:\/\/127\.0\.0\.1:\d+\/console\/ .*Raise DEMO_HUMAN_TIMEOUT to wait longer\.$/m,
      );
      expect(run.output).toContain('Scenario FAILED (with a person)');
    }, 120_000);

    it('documents --human in --help and refuses an unknown option or --human with --oidc', async () => {
      const help = demo(['--help']);
      expect(await help.exit(30_000)).toBe(0);
      expect(help.output).toMatch(/--human {4}a person decides/);
      const unknown = demo(['--humans']);
      expect(await unknown.exit(30_000)).toBe(2);
      expect(unknown.output).toContain('orgmesh demo: unknown option --humans');
      const both = demo(['--human', '--oidc']);
      expect(await both.exit(30_000)).toBe(2);
      expect(both.output).toContain('--human and --oidc do not combine');
    }, 60_000);
  },
);
