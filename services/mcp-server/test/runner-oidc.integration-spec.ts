import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListSessionTransitions } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { OidcTokenSource, oidcClientSettings, OidcClientEnvSchema } from '@orgmesh/agent-sdk';
import {
  createTestContext,
  startOidcProvider,
  type OidcTestProvider,
  type TestContext,
} from '@orgmesh/testing';
// The suite in production identity mode: the gateway, the registry and the sessions service verify
// tokens minted by a real OpenID provider (oidc-provider, 5 s tokens), and the runner gets the agent's
// tokens from it as `orgmesh agent run` does with ORGMESH_OIDC_* set.
import { api, silentLogger, startTestGateway, type GatewayApp } from '@orgmesh/gateway/testing';
import { authorizeBus, startTestSessions } from '@orgmesh/sessions/testing';
import { startTestRegistry } from '@orgmesh/registry/testing';
import { agentTokenSource } from '../src/gateway/oidc.token-source.js';
import { runAgent } from '../src/runner/agent-runner.js';
import { runAgentCli, type CliIo } from '../src/runner/runner.cli.js';
import { loadRunnerConfig } from '../src/runner/runner.config.js';
import { MCP_BIN_DIR, buildForProcesses, testPath } from './mcp-harness.js';

const AUDIENCE = 'urn:orgmesh:api';
const SECRET = `secret-${Math.random().toString(36).slice(2)}`;
const TOKEN_TTL_SEC = 5;

describe('orgmesh agent run against an OpenID provider: tokens renewed mid-run', () => {
  let ctx: TestContext;
  let provider: OidcTestProvider;
  let gateway: GatewayApp;
  let bus: MessageBus;
  const services: Array<{ close(): Promise<void> }> = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    buildForProcesses();
    ctx = await createTestContext();
    provider = await startOidcProvider({
      audience: AUDIENCE,
      accessTokenTtlSec: TOKEN_TTL_SEC,
      clients: [
        {
          clientId: 'finance-agent',
          clientSecret: SECRET,
          tokenEndpointAuthMethod: 'client_secret_basic',
          scope: 'orgmesh:agent',
          claims: { role: 'finance' },
        },
        {
          clientId: 'admin',
          clientSecret: SECRET,
          tokenEndpointAuthMethod: 'client_secret_basic',
          scope: 'orgmesh:admin',
          claims: { role: 'admin' },
        },
      ],
    });
    const oidc = {
      AUTH_ISSUER: provider.issuer,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_URL: provider.jwksUrl,
    };
    gateway = await startTestGateway(ctx, { AUTH_MODE: 'oidc', ...oidc });
    services.push(
      await startTestRegistry(ctx, { overrides: { REGISTRY_AUTH: 'on', ...oidc, GATEWAY_URL: gateway.url } }),
    );
    services.push(await startTestSessions(ctx));
    bus = await connectBus({
      url: ctx.natsUrl,
      name: 'runner-oidc-test',
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logger: silentLogger,
    });
  });

  afterAll(async () => {
    await bus?.close();
    await gateway?.close();
    for (const service of services.reverse()) await service.close();
    await provider?.close();
    await ctx?.dispose();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('a run twice as long as a token: heartbeats and session RPCs keep being accepted, the session completes', async () => {
    const env = {
      NATS_URL: ctx.natsUrl,
      NATS_SUBJECT_PREFIX: ctx.subjectPrefix,
      NATS_NAME_SUFFIX: ctx.nameSuffix,
      ORGMESH_GATEWAY_URL: gateway.url,
      ORGMESH_PRIVACY_PROXY_URL: 'http://127.0.0.1:18090',
      ORGMESH_HEARTBEAT_INTERVAL: '250ms',
      ORGMESH_KILL_GRACE: '500ms',
      ORGMESH_OIDC_ISSUER: provider.issuer,
      ORGMESH_OIDC_CLIENT_SECRET: SECRET,
      ORGMESH_OIDC_SCOPE: 'orgmesh:agent',
    };
    const config = loadRunnerConfig(env);
    const problems: Array<{ key: string; reason: string }> = [];
    const settings = oidcClientSettings(config.oidc, 'finance-agent', problems);
    expect(problems).toEqual([]);
    const tokens = agentTokenSource({
      oidc: settings,
      gatewayUrl: gateway.url,
      clientId: 'finance-agent',
      clientSecret: undefined,
      timeoutMs: 5_000,
    });
    const dir = await mkdtemp(join(tmpdir(), 'orgmesh-runner-oidc-'));
    dirs.push(dir);
    const said: string[] = [];
    const before = (await provider.stats()).tokenRequests;
    const startedAt = Date.now();
    const result = await runAgent(
      {
        agentId: 'finance-agent',
        workspace: dir,
        // Outlives the first token (5 s) by a wide margin.
        command: [process.execPath, '-e', `setTimeout(() => process.exit(0), ${TOKEN_TTL_SEC * 2_000})`],
      },
      {
        bus,
        config,
        tokens,
        clientId: 'finance-agent',
        clientSecret: '',
        io: { say: (line) => said.push(line), stdout: null, stderr: null, inheritStdin: false },
        baseEnv: { PATH: testPath(), HOME: tmpdir(), ...env },
        binDir: MCP_BIN_DIR,
      },
    );
    expect(Date.now() - startedAt).toBeGreaterThan(TOKEN_TTL_SEC * 2_000);
    expect(result.exitCode).toBe(0);
    expect(result.session).toMatchObject({ agentId: 'finance-agent', role: 'finance', status: 'completed' });
    // With a token fixed at start, every heartbeat after 5 s would be refused and said so.
    expect(said.filter((line) => /heartbeat failed/.test(line))).toEqual([]);
    // Renewed ahead of expiry (at 80 %): at least two more tokens than the first, not one per RPC.
    const requests = (await provider.stats()).tokenRequests - before;
    expect(requests).toBeGreaterThanOrEqual(3);
    expect(requests).toBeLessThanOrEqual(6);

    // The completion was recorded as the agent, with a token issued after the first had expired.
    const admin = new OidcTokenSource({
      ...oidcClientSettings(
        OidcClientEnvSchema.parse({
          ORGMESH_OIDC_ISSUER: provider.issuer,
          ORGMESH_OIDC_CLIENT_SECRET: SECRET,
          ORGMESH_OIDC_SCOPE: 'orgmesh:admin',
        }),
        'admin',
        [],
      )!,
    });
    const adminBus = authorizeBus(bus, `Bearer ${(await admin.current()).token}`);
    admin.stop();
    const { items } = await adminBus.request(ListSessionTransitions, { id: result.session.id });
    expect(items.map((t) => [t.to, t.actor])).toEqual([
      ['active', 'finance-agent'],
      ['completed', 'finance-agent'],
    ]);
  }, 40_000);

  it('orgmesh agent token prints a fresh token per call (a refresh path for apiKeyHelper); the provider down is exit 69', async () => {
    const env = {
      NATS_URL: ctx.natsUrl,
      ORGMESH_AGENT_ID: 'finance-agent',
      ORGMESH_OIDC_ISSUER: provider.issuer,
      ORGMESH_OIDC_CLIENT_SECRET: SECRET,
      ORGMESH_OIDC_SCOPE: 'orgmesh:agent',
    };
    const call = async () => {
      const out: string[] = [];
      const err: string[] = [];
      const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), env };
      return { code: await runAgentCli(['token'], io), out, err };
    };
    const first = await call();
    const second = await call();
    expect(first).toMatchObject({ code: 0, err: [] });
    expect(first.out).toHaveLength(1);
    expect(second.out[0]).not.toBe(first.out[0]);
    const res = await api(gateway, 'GET', '/v1/sessions', { token: second.out[0] });
    expect(res.status).toBe(200);
    await provider.suspend();
    try {
      const down = await call();
      expect(down.code).toBe(69);
      expect(down.out).toEqual([]);
      expect(down.err.join('\n')).toContain(provider.issuer);
    } finally {
      await provider.resume();
    }
    const missing = await runAgentCli(['token'], {
      out: () => undefined,
      err: () => undefined,
      env: { NATS_URL: ctx.natsUrl },
    });
    expect(missing).toBe(2);
  });
});
