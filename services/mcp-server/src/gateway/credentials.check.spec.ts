import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EXIT } from '@orgmesh/config';
import { CredentialCheckFailed, checkCredentials } from './credentials.check.js';
import { GatewayError } from './gateway.errors.js';
import type { TokenSource } from './token.provider.js';

// What stands in front of a gateway and answers for it: a proxy with its own status pages. The
// cases a real gateway produces (refused secret, refused token, not reached) are in
// test/mcp-startup-check.integration-spec.ts against the real gateway and OpenID provider.
describe("checkCredentials: answers that are not the gateway's own", () => {
  let server: Server;
  let url: string;
  const answers: Record<string, { status: number; body: string }> = {
    '/overloaded/v1/auth/whoami': { status: 503, body: '<html>Service Unavailable</html>' },
    '/old/v1/auth/whoami': {
      status: 404,
      body: JSON.stringify({ code: 'not_found', detail: 'no route for GET /v1/auth/whoami' }),
    },
  };
  const token: TokenSource = { token: async () => 'a.b.c' };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const answer = answers[req.url ?? ''] ?? { status: 500, body: '' };
      res.writeHead(answer.status).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const check = (path: string, tokens = token) =>
    checkCredentials({
      tokens,
      gatewayUrl: `${url}${path}`,
      clientId: 'finance-agent',
      oidcIssuer: undefined,
      timeoutMs: 5_000,
    }).then(
      () => undefined,
      (error: unknown) => error as CredentialCheckFailed,
    );

  it('an overloaded gateway (503 without a problem body) is "try later": exit 69', async () => {
    const failed = await check('/overloaded');
    expect(failed).toBeInstanceOf(CredentialCheckFailed);
    expect(failed).toMatchObject({ problem: 'gateway_failed', exitCode: EXIT.unavailable });
    expect(failed?.message).toContain('answered 503 to GET /v1/auth/whoami');
  });

  it('a gateway without /v1/auth/whoami is a failure, not "try later": exit 1', async () => {
    expect(await check('/old')).toMatchObject({ problem: 'gateway_failed', exitCode: EXIT.failed });
  });

  it('an issuer that is rate limiting is "try later"; an unknown failure of the token source propagates', async () => {
    const limited: TokenSource = {
      token: async () => {
        throw new GatewayError('rate_limited', 'too many requests', 429);
      },
    };
    expect(await check('/overloaded', limited)).toMatchObject({
      problem: 'gateway_failed',
      exitCode: EXIT.unavailable,
    });
    const broken: TokenSource = {
      token: async () => {
        throw new TypeError('bug');
      },
    };
    expect(await check('/overloaded', broken)).toBeInstanceOf(TypeError);
  });
});
