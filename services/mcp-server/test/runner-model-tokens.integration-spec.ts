import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { oidcClientSettings } from '@orgmesh/agent-sdk';
import { createLogger } from '@orgmesh/telemetry';
import {
  createTestContext,
  startOidcProvider,
  type OidcTestProvider,
  type TestContext,
} from '@orgmesh/testing';
// The suite in production identity mode with a real privacy proxy in front of a fake model provider
// (the one thing outside orgmesh): model calls of Claude Code and Goose runs must outlive the agent's
// first 5 s token. Claude Code and Goose themselves stand in as small scripts that follow their
// documented credential behaviour (below); neither binary is available here.
import { silentLogger, startTestGateway, type GatewayApp } from '@orgmesh/gateway/testing';
import { startTestSessions } from '@orgmesh/sessions/testing';
import { startTestRegistry } from '@orgmesh/registry/testing';
import {
  RecordingAuditSink,
  JoseTokenVerifier,
  createPrivacyProxy,
  type PrivacyProxy,
  FileProfileSource,
  FakeUpstream,
  PROFILES,
} from '@orgmesh/privacy-proxy/testing';
import { agentTokenSource } from '../src/gateway/oidc.token-source.js';
import { runAgent, type RunResult } from '../src/runner/agent-runner.js';
import { loadRunnerConfig } from '../src/runner/runner.config.js';
import { MCP_BIN_DIR, buildForProcesses, testPath } from './mcp-harness.js';

const AUDIENCE = 'urn:orgmesh:api';
const SECRET = `secret-${Math.random().toString(36).slice(2)}`;
const TOKEN_TTL_SEC = 5;
/** The privacy proxy's verifier accepts a token this long past its `exp` (clock skew). */
const CLOCK_TOLERANCE_MS = 5_000;
/** Past the first token's expiry and the proxy's tolerance, by a margin. */
const RUN_MS = TOKEN_TTL_SEC * 1_000 + CLOCK_TOLERANCE_MS + 3_000;

/**
 * Claude Code's documented credential behaviour with `apiKeyHelper` in its settings: the helper is run
 * with /bin/sh in the project directory, its stdout sent as `X-Api-Key` and `Authorization: Bearer`,
 * re-run after CLAUDE_CODE_API_KEY_HELPER_TTL_MS (default 5 min) and after a 401. ANTHROPIC_AUTH_TOKEN
 * and ANTHROPIC_API_KEY take precedence over the helper, so their presence fails the run here.
 */
const FAKE_CLAUDE = `
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
const e = process.env;
if (e.ANTHROPIC_AUTH_TOKEN || e.ANTHROPIC_API_KEY) { console.log(JSON.stringify({ shadowed: true })); process.exit(3); }
const settings = JSON.parse(readFileSync('.claude/settings.json', 'utf8'));
const ttl = Number(e.CLAUDE_CODE_API_KEY_HELPER_TTL_MS ?? 300000);
const extra = Object.fromEntries((e.ANTHROPIC_CUSTOM_HEADERS ?? '').split('\\n').filter(Boolean).map((l) => l.split(': ')));
let key, at = 0, helperRuns = 0;
const helper = () => { key = execFileSync('/bin/sh', ['-c', settings.apiKeyHelper], { encoding: 'utf8' }).trim(); at = Date.now(); helperRuns++; };
// Claude Code applies the settings' env over its own.
const base = settings.env?.ANTHROPIC_BASE_URL ?? e.ANTHROPIC_BASE_URL;
const call = () => fetch(base + '/v1/messages', { method: 'POST',
  headers: { ...extra, 'x-api-key': key, authorization: 'Bearer ' + key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
  body: JSON.stringify({ model: settings.model, max_tokens: 64, messages: [{ role: 'user', content: 'status?' }] }) });
const statuses = [];
const start = Date.now();
let lastCallMs = 0;
while (Date.now() - start < ${RUN_MS}) {
  if (!key || Date.now() - at > ttl) helper();
  let res = await call();
  if (res.status === 401) { helper(); res = await call(); }
  statuses.push(res.status);
  lastCallMs = Date.now() - start;
  await new Promise((r) => setTimeout(r, 1000));
}
console.log(JSON.stringify({ statuses, helperRuns, ttl, lastCallMs }));
process.exit(statuses.every((s) => s === 200) ? 0 : 1);
`;

/**
 * Goose's documented behaviour: its provider key and host are read once at start, from the
 * environment before config.yaml (OPENAI_HOST, OPENAI_BASE_PATH, OPENAI_API_KEY as Bearer).
 */
const FAKE_GOOSE = `
import { readFileSync } from 'node:fs';
const e = process.env;
const config = readFileSync(e.XDG_CONFIG_HOME + '/goose/config.yaml', 'utf8');
const setting = (k) => e[k] ?? new RegExp('^' + k + ': *(.+)$', 'm').exec(config)?.[1];
const host = setting('OPENAI_HOST'), path = setting('OPENAI_BASE_PATH'), key = e.OPENAI_API_KEY, model = setting('GOOSE_MODEL');
const statuses = [];
const start = Date.now();
let lastCallMs = 0;
while (Date.now() - start < ${RUN_MS}) {
  const res = await fetch(host + '/' + path, { method: 'POST', headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'status?' }] }) });
  statuses.push(res.status);
  lastCallMs = Date.now() - start;
  await new Promise((r) => setTimeout(r, 1000));
}
console.log(JSON.stringify({ statuses, host, keyPrefix: key.slice(0, 14), lastCallMs }));
process.exit(statuses.every((s) => s === 200) ? 0 : 1);
`;

describe('orgmesh agent run: Claude Code and Goose model calls outlive the first token (OpenID provider)', () => {
  let ctx: TestContext;
  let provider: OidcTestProvider;
  let gateway: GatewayApp;
  let bus: MessageBus;
  let upstream: FakeUpstream;
  let proxy: PrivacyProxy;
  let proxyUrl: string;
  let scripts: string;
  const services: Array<{ close(): Promise<void> }> = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    buildForProcesses();
    ctx = await createTestContext();
    const agent = (clientId: string, role: string) => ({
      clientId,
      clientSecret: SECRET,
      tokenEndpointAuthMethod: 'client_secret_basic' as const,
      scope: 'orgmesh:agent',
      claims: { role },
    });
    provider = await startOidcProvider({
      audience: AUDIENCE,
      accessTokenTtlSec: TOKEN_TTL_SEC,
      clients: [agent('finance-agent', 'finance'), agent('contracts-agent', 'legal')],
    });
    upstream = await FakeUpstream.start();
    proxy = createPrivacyProxy({
      openai: { url: upstream.openaiUrl, key: 'sk-upstream-openai-secret' },
      anthropic: { url: upstream.anthropicUrl, key: 'sk-ant-upstream-secret' },
      verifier: JoseTokenVerifier.fromJwksUrl(provider.jwksUrl, {
        issuer: provider.issuer,
        audience: AUDIENCE,
      }),
      profiles: FileProfileSource.fromObject(PROFILES),
      hmacKey: 'integration-test-hmac-key-0123456789abcdef',
      audit: new RecordingAuditSink(),
      logger: createLogger({ service: 'privacy-proxy', level: 'silent' }),
    });
    proxyUrl = await proxy.listen(0);
    const oidc = { AUTH_ISSUER: provider.issuer, AUTH_AUDIENCE: AUDIENCE, AUTH_JWKS_URL: provider.jwksUrl };
    gateway = await startTestGateway(ctx, { AUTH_MODE: 'oidc', ...oidc });
    services.push(
      await startTestRegistry(ctx, {
        overrides: { REGISTRY_AUTH: 'on', ...oidc, GATEWAY_URL: gateway.url, PRIVACY_PROXY_URL: proxyUrl },
      }),
    );
    services.push(await startTestSessions(ctx));
    bus = await connectBus({
      url: ctx.natsUrl,
      name: 'runner-model-tokens-test',
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logger: silentLogger,
    });
    scripts = await mkdtemp(join(tmpdir(), 'orgmesh-fake-clients-'));
    dirs.push(scripts);
    await writeFile(join(scripts, 'claude.mjs'), FAKE_CLAUDE);
    await writeFile(join(scripts, 'goose.mjs'), FAKE_GOOSE);
  });

  afterAll(async () => {
    await bus?.close();
    await gateway?.close();
    for (const service of services.reverse()) await service.close();
    await proxy?.close();
    await upstream?.close();
    await provider?.close();
    await ctx?.dispose();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function run(
    agentId: string,
    script: string,
  ): Promise<{ result: RunResult; report: Record<string, unknown>; said: string[]; tokenRequests: number }> {
    const env = {
      NATS_URL: ctx.natsUrl,
      NATS_SUBJECT_PREFIX: ctx.subjectPrefix,
      NATS_NAME_SUFFIX: ctx.nameSuffix,
      ORGMESH_GATEWAY_URL: gateway.url,
      ORGMESH_PRIVACY_PROXY_URL: proxyUrl,
      ORGMESH_HEARTBEAT_INTERVAL: '1s',
      ORGMESH_KILL_GRACE: '500ms',
      ORGMESH_OIDC_ISSUER: provider.issuer,
      ORGMESH_OIDC_CLIENT_SECRET: SECRET,
      ORGMESH_OIDC_SCOPE: 'orgmesh:agent',
    };
    const config = loadRunnerConfig(env);
    const tokens = agentTokenSource({
      oidc: oidcClientSettings(config.oidc, agentId, []),
      gatewayUrl: gateway.url,
      clientId: agentId,
      clientSecret: undefined,
      timeoutMs: 5_000,
    });
    const workspace = await mkdtemp(join(tmpdir(), `orgmesh-${agentId}-`));
    dirs.push(workspace);
    const said: string[] = [];
    let stdout = '';
    const before = (await provider.stats()).tokenRequests;
    const result = await runAgent(
      { agentId, workspace, command: [process.execPath, join(scripts, script)] },
      {
        bus,
        config,
        tokens,
        clientId: agentId,
        clientSecret: '',
        io: {
          say: (line) => said.push(line),
          stdout: {
            write: (chunk: Buffer | string) => {
              stdout += chunk.toString();
              return true;
            },
          } as NodeJS.WritableStream,
          stderr: null,
          inheritStdin: false,
        },
        // The operator's own helper TTL and provider keys must not leak into the agent's environment.
        baseEnv: { PATH: testPath(), HOME: tmpdir(), ANTHROPIC_API_KEY: 'sk-ant-operator', ...env },
        binDir: MCP_BIN_DIR,
      },
    );
    const line = stdout.trim().split('\n').pop() ?? '{}';
    return {
      result,
      report: JSON.parse(line) as Record<string, unknown>,
      said,
      tokenRequests: (await provider.stats()).tokenRequests - before,
    };
  }

  it("Claude Code: the rendered apiKeyHelper (orgmesh agent token) keeps the agent's model calls accepted past its first token", async () => {
    const { result, report, said, tokenRequests } = await run('contracts-agent', 'claude.mjs');
    // Half the first token's remaining lifetime.
    expect(report['ttl']).toBeGreaterThan(1_000);
    expect(report['ttl']).toBeLessThanOrEqual((TOKEN_TTL_SEC * 1_000) / 2);
    const statuses = report['statuses'] as number[];
    // Calls on both sides of the first token's expiry (the command starts after the runner got it).
    expect(statuses.length).toBeGreaterThanOrEqual(3);
    expect(report['lastCallMs']).toBeGreaterThan(TOKEN_TTL_SEC * 1_000 + CLOCK_TOLERANCE_MS);
    expect(statuses.every((s) => s === 200)).toBe(true);
    // Each run of the helper is a new `orgmesh agent token`, a new token from the provider.
    expect(report['helperRuns']).toBeGreaterThanOrEqual(3);
    expect(tokenRequests).toBeGreaterThanOrEqual(3);
    expect(result.exitCode).toBe(0);
    expect(result.session.status).toBe('completed');
    expect(said.join('\n')).toContain('renewed tokens from its apiKeyHelper');
    // Every model call reached the provider with the proxy's key, never the agent's token.
    expect(upstream.requests.length).toBeGreaterThanOrEqual(statuses.length);
  }, 90_000);

  it("Goose: the runner's relay puts the current token on each model call, past the first token's expiry", async () => {
    const calls = upstream.requests.length;
    const { result, report, tokenRequests } = await run('finance-agent', 'goose.mjs');
    const statuses = report['statuses'] as number[];
    expect(report['keyPrefix']).toBe('orgmesh-relay-');
    expect(report['host']).not.toBe(proxyUrl);
    // Calls on both sides of the first token's expiry (the command starts after the runner got it).
    expect(statuses.length).toBeGreaterThanOrEqual(3);
    expect(report['lastCallMs']).toBeGreaterThan(TOKEN_TTL_SEC * 1_000 + CLOCK_TOLERANCE_MS);
    expect(statuses.every((s) => s === 200)).toBe(true);
    // Renewed at 80 % of the lifetime, shared with heartbeats: a few tokens, not one per call.
    expect(tokenRequests).toBeGreaterThanOrEqual(3);
    expect(tokenRequests).toBeLessThan(statuses.length + 4);
    expect(upstream.requests.length - calls).toBe(statuses.length);
    expect(result.exitCode).toBe(0);
    expect(result.session.status).toBe('completed');
  }, 90_000);
});
