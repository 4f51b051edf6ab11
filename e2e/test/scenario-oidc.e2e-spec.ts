import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runMigrations } from '@orgmesh/migrations';
import {
  createTestContext,
  startOidcProvider,
  type OidcTestProvider,
  type TestContext,
} from '@orgmesh/testing';
import { DEMO_OIDC_AUDIENCE, demoOidcClients, oidcScenarioTokens } from '../src/oidc.js';
import { api, renderTimeline, runScenario, type ScenarioReport } from '../src/scenario.js';
import { startSuite, type RunningSuite } from '../src/suite.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The demo scenario in production identity mode (issue 18, "the demo passes in OIDC mode"): a real
 * OpenID provider (oidc-provider) mints every token; the gateway runs AUTH_MODE=oidc without its dev
 * issuer; sessions, registry, mesh-router and the privacy proxy verify the provider's tokens; the
 * three agents and the scenario's requester and observer get theirs by client_credentials.
 */
describe('e2e: the Finance ↔ Manager ↔ Legal scenario with an OpenID provider (AUTH_MODE=oidc)', () => {
  const secret = randomBytes(16).toString('hex');
  let ctx: TestContext;
  let provider: OidcTestProvider;
  let suite: RunningSuite | undefined;
  let report: ScenarioReport;
  let tokenRequestsBefore: number;

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'ignore' });
    ctx = await createTestContext();
    for (const service of ['sessions', 'mesh', 'registry'])
      await runMigrations({ url: ctx.databaseUrl, service });
    provider = await startOidcProvider({ audience: DEMO_OIDC_AUDIENCE, clients: demoOidcClients(secret) });
    const dir = mkdtempSync(join(tmpdir(), 'orgmesh-e2e-oidc-'));
    const logDir = join(dir, 'logs');
    mkdirSync(logDir);
    tokenRequestsBefore = (await provider.stats()).tokenRequests;
    suite = await startSuite({
      root,
      natsUrl: ctx.natsUrl,
      databaseUrl: ctx.databaseUrl,
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logDir,
      recordFile: join(dir, 'upstream-requests.jsonl'),
      oidc: {
        issuer: provider.issuer,
        jwksUrl: provider.jwksUrl,
        audience: DEMO_OIDC_AUDIENCE,
        clientSecret: secret,
      },
    });
    report = await runScenario({
      gatewayUrl: suite.gatewayUrl,
      proxyUrl: suite.proxyUrl,
      timeoutMs: 60_000,
      requesters: [{ clientId: 'finance-lead', clientSecret: secret }],
      observer: { clientId: 'admin', clientSecret: secret },
      issueToken: oidcScenarioTokens(provider.issuer),
      claudeCodeAgent: { clientId: 'contracts-agent', clientSecret: secret },
    });
    process.stdout.write(
      `${renderTimeline(report)}\n\nsuite ready in ${suite.readyMs} ms; scenario ${report.durationMs} ms; logs in ${logDir}\n`,
    );
  }, 240_000);

  afterAll(async () => {
    await suite?.stop();
    await provider?.close();
    await ctx?.dispose();
  }, 60_000);

  it('runs the scenario to its end on tokens from the provider', () => {
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.requester).toBe('finance-lead');
    // The agents' model calls went through the privacy proxy, which verified the provider's tokens.
    expect(report.modelCalls).toBeGreaterThanOrEqual(9);
    // The Claude Code step on a provider token: Anthropic Messages through the proxy, answered.
    expect(report.claudeCode).toMatchObject({ agentId: 'contracts-agent', status: 200, streamed: true });
  });

  it('got every token from the provider: the agents, the requester and the observer asked it', async () => {
    // Three agents, the requester and the observer at least once each.
    expect((await provider.stats()).tokenRequests - tokenRequestsBefore).toBeGreaterThanOrEqual(5);
  });

  it('serves no dev issuer: the gateway refuses a dev secret, and a token of another issuer', async () => {
    const dev = await fetch(`${suite!.gatewayUrl}/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: 'admin',
        client_secret: 'admin-dev-secret',
      }),
    });
    expect(dev.ok).toBe(false);
    const other = await startOidcProvider({ audience: DEMO_OIDC_AUDIENCE, clients: demoOidcClients(secret) });
    try {
      const foreign = await oidcScenarioTokens(other.issuer)({ clientId: 'admin', clientSecret: secret });
      const res = await fetch(`${suite!.gatewayUrl}/v1/sessions`, {
        headers: { authorization: `Bearer ${foreign}` },
      });
      expect(res.status).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('records the agents by the identity in their provider tokens: online, on the rendered config', async () => {
    const admin = await oidcScenarioTokens(provider.issuer)({ clientId: 'admin', clientSecret: secret });
    for (const agentId of ['finance-agent', 'manager-agent', 'legal-agent']) {
      const found = await api<{ presence: { online: boolean; drift: boolean } }>(
        suite!.gatewayUrl,
        admin,
        'GET',
        `/v1/agents/${agentId}`,
      );
      expect([agentId, found.presence.online, found.presence.drift]).toEqual([agentId, true, false]);
    }
    const sessions = report.sessions.map((s) => [s.agentId, s.status]).sort();
    expect(sessions).toEqual(
      expect.arrayContaining([
        ['finance-agent', 'completed'],
        ['legal-agent', 'completed'],
        ['manager-agent', 'completed'],
      ]),
    );
  });
});
