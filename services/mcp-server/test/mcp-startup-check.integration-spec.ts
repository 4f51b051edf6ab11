import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { EXIT } from '@orgmesh/config';
import {
  createTestContext,
  freePort,
  startOidcProvider,
  type OidcTestProvider,
  type TestContext,
} from '@orgmesh/testing';
import { startTestGateway, type GatewayApp } from '@orgmesh/gateway/testing';
import { buildForProcesses, testPath } from './mcp-harness.js';

const AUDIENCE = 'urn:orgmesh:api';
const OIDC_SECRET = `oidc-${Math.random().toString(36).slice(2)}`;
const WRONG = `wrong-${Math.random().toString(36).slice(2)}`;

interface Exit {
  code: number | null;
  stderr: string;
}

/** Runs orgmesh-mcp until it exits on its own (stdin open, as an MCP client keeps it). */
function runUntilExit(env: Record<string, string>, args: string[] = []): Promise<Exit> {
  const child = spawn('orgmesh-mcp', args, {
    env: { PATH: testPath(), LOG_LEVEL: 'silent', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.resume();
  // A server that does not exit is a failure of the test, not a hang of the suite.
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('orgmesh-mcp checks its credentials at start', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let oidcGateway: GatewayApp;
  let provider: OidcTestProvider;
  let closedUrl: string;

  beforeAll(async () => {
    buildForProcesses();
    ctx = await createTestContext();
    provider = await startOidcProvider({
      audience: AUDIENCE,
      clients: [
        {
          clientId: 'finance-agent',
          clientSecret: OIDC_SECRET,
          tokenEndpointAuthMethod: 'client_secret_basic',
          scope: 'orgmesh:agent',
          claims: { role: 'finance' },
        },
      ],
    });
    gateway = await startTestGateway(ctx);
    oidcGateway = await startTestGateway(ctx, {
      AUTH_MODE: 'oidc',
      AUTH_ISSUER: provider.issuer,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_URL: provider.jwksUrl,
    });
    // A port nothing listens on: taken from the OS, then left free.
    closedUrl = `http://127.0.0.1:${await freePort()}`;
  });

  afterAll(async () => {
    await gateway?.close();
    await oidcGateway?.close();
    await provider?.close();
    await ctx?.dispose();
  });

  const devEnv = (overrides: Record<string, string> = {}) => ({
    ORGMESH_AGENT_ID: 'finance-agent',
    ORGMESH_CLIENT_SECRET: 'finance-agent-dev-secret',
    ORGMESH_GATEWAY_URL: gateway.url,
    ...overrides,
  });
  const oidcEnv = (overrides: Record<string, string> = {}) => ({
    ORGMESH_AGENT_ID: 'finance-agent',
    ORGMESH_GATEWAY_URL: oidcGateway.url,
    ORGMESH_OIDC_ISSUER: provider.issuer,
    ORGMESH_OIDC_CLIENT_SECRET: OIDC_SECRET,
    ORGMESH_OIDC_SCOPE: 'orgmesh:agent',
    ...overrides,
  });

  it('starts and serves with good credentials (dev issuer and OpenID provider)', async () => {
    for (const env of [devEnv(), oidcEnv()]) {
      const client = new Client({ name: 'startup-check-test', version: '1.0.0' });
      await client.connect(
        new StdioClientTransport({
          command: 'orgmesh-mcp',
          args: [],
          env: { PATH: testPath(), LOG_LEVEL: 'silent', ...env },
          stderr: 'ignore',
        }),
      );
      try {
        expect((await client.listTools()).tools.length).toBeGreaterThan(0);
      } finally {
        await client.close();
      }
    }
  });

  it('exits 1 naming the refused client secret (dev issuer), over stdio and HTTP, without printing it', async () => {
    for (const args of [[], ['--http', '--port', '0']]) {
      const exit = await runUntilExit(devEnv({ ORGMESH_CLIENT_SECRET: WRONG }), args);
      expect(exit.code).toBe(EXIT.failed);
      expect(exit.stderr).toMatch(
        /^orgmesh-mcp: the client credentials were refused \(wrong client id or secret\?\)/,
      );
      expect(exit.stderr).toContain('ORGMESH_CLIENT_SECRET');
      expect(exit.stderr).not.toContain(WRONG);
    }
  });

  it('exits 1 naming the refused client secret (OpenID provider), without printing it', async () => {
    const exit = await runUntilExit(oidcEnv({ ORGMESH_OIDC_CLIENT_SECRET: WRONG }));
    expect(exit.code).toBe(EXIT.failed);
    expect(exit.stderr).toContain('the client credentials were refused');
    expect(exit.stderr).toContain(`the OpenID provider ${provider.issuer} refused client "finance-agent"`);
    expect(exit.stderr).toContain('ORGMESH_OIDC_CLIENT_SECRET');
    expect(exit.stderr).not.toContain(WRONG);
    expect(exit.stderr).not.toContain(OIDC_SECRET);
  });

  it('exits 1 when the gateway refuses a token the issuer gave (a gateway that trusts another issuer)', async () => {
    // Good provider credentials, but this gateway trusts only its own dev issuer.
    const exit = await runUntilExit(oidcEnv({ ORGMESH_GATEWAY_URL: gateway.url }));
    expect(exit.code).toBe(EXIT.failed);
    expect(exit.stderr).toContain(
      `the gateway at ${gateway.url} refused the token of client "finance-agent"`,
    );
    expect(exit.stderr).toContain(`must trust ${provider.issuer}`);
    expect(exit.stderr).not.toMatch(/eyJ[\w-]+\.[\w-]+/);
  });

  it('exits 69 when the gateway or the OpenID provider does not answer', async () => {
    const noGateway = await runUntilExit(devEnv({ ORGMESH_GATEWAY_URL: closedUrl }));
    expect(noGateway.code).toBe(EXIT.unavailable);
    expect(noGateway.stderr).toContain(`the gateway at ${closedUrl} is unreachable`);
    expect(noGateway.stderr).toContain('check ORGMESH_GATEWAY_URL');

    // Token from the provider, then the gateway is not there.
    const noGatewayOidc = await runUntilExit(oidcEnv({ ORGMESH_GATEWAY_URL: closedUrl }));
    expect(noGatewayOidc.code).toBe(EXIT.unavailable);
    expect(noGatewayOidc.stderr).toContain(`the gateway at ${closedUrl} is unreachable`);

    const noProvider = await runUntilExit(oidcEnv({ ORGMESH_OIDC_ISSUER: closedUrl }));
    expect(noProvider.code).toBe(EXIT.unavailable);
    expect(noProvider.stderr).toContain(`the OpenID provider ${closedUrl} did not answer`);
    expect(noProvider.stderr).toContain('check ORGMESH_OIDC_ISSUER');
  });

  it('starts anyway with MCP_STARTUP_CHECK=false (the first tool call reports the problem then)', async () => {
    const client = new Client({ name: 'startup-check-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: 'orgmesh-mcp',
        args: [],
        env: {
          PATH: testPath(),
          LOG_LEVEL: 'silent',
          ...devEnv({ ORGMESH_GATEWAY_URL: closedUrl }),
          MCP_STARTUP_CHECK: 'false',
        },
        stderr: 'ignore',
      }),
    );
    try {
      expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });
});
