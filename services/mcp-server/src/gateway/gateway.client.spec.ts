import { describe, expect, it } from '@jest/globals';
import { fakeFetch } from '../../test/fake-fetch.js';
import { GatewayClient } from './gateway.client.js';
import { GatewayError, codeForStatus, errorFromResponse } from './gateway.errors.js';
import type { TokenSource } from './token.provider.js';

class CountingTokens implements TokenSource {
  issued = 0;
  async token(refresh = false): Promise<string> {
    if (refresh || this.issued === 0) this.issued++;
    return `token-${this.issued}`;
  }
}

describe('GatewayClient', () => {
  it('sends JSON with the bearer token, the idempotency key and the query (undefined values left out)', async () => {
    const fake = fakeFetch(() => ({ status: 202, body: { id: 't1' } }));
    const client = new GatewayClient({
      gatewayUrl: 'http://gw.test',
      tokens: new CountingTokens(),
      fetch: fake.fetch,
    });
    expect(
      await client.request('POST', '/v1/tasks', {
        body: { to: 'legal' },
        idempotencyKey: 'k1',
        query: { a: 1, b: undefined, c: true },
      }),
    ).toEqual({ id: 't1' });
    expect(fake.calls[0]).toMatchObject({
      method: 'POST',
      body: { to: 'legal' },
      headers: {
        authorization: 'Bearer token-1',
        'idempotency-key': 'k1',
        'content-type': 'application/json',
      },
    });
    expect(fake.calls[0]?.url.search).toBe('?a=1&c=true');
  });

  it('renews the token once on 401 and repeats the call with the same idempotency key', async () => {
    const fake = fakeFetch((call) =>
      call.headers['authorization'] === 'Bearer token-1'
        ? { status: 401, body: { code: 'unauthenticated', detail: 'expired' } }
        : { status: 200, body: { ok: true } },
    );
    const tokens = new CountingTokens();
    const client = new GatewayClient({ gatewayUrl: 'http://gw.test', tokens, fetch: fake.fetch });
    expect(await client.request('POST', '/v1/notifications', { body: {}, idempotencyKey: 'same' })).toEqual({
      ok: true,
    });
    expect(fake.calls.map((c) => [c.headers['authorization'], c.headers['idempotency-key']])).toEqual([
      ['Bearer token-1', 'same'],
      ['Bearer token-2', 'same'],
    ]);
    const always401 = new GatewayClient({
      gatewayUrl: 'http://gw.test',
      tokens: new CountingTokens(),
      fetch: fakeFetch(() => ({ status: 401, body: { code: 'unauthenticated', detail: 'no' } })).fetch,
    });
    await expect(always401.request('GET', '/v1/tasks')).rejects.toMatchObject({
      code: 'unauthenticated',
      status: 401,
    });
  });

  it('turns problem+json into a GatewayError with the code, the detail and the extension members', async () => {
    const problem = {
      type: 'urn:orgmesh:problem:policy_denied',
      title: 'Refused by policy',
      status: 403,
      detail: 'finance may not send tasks to legal',
      code: 'policy_denied',
      rule: 'default-deny: profiles/finance.yaml grants no tasks to legal (mesh.send_task_to)',
    };
    const client = new GatewayClient({
      gatewayUrl: 'http://gw.test',
      tokens: new CountingTokens(),
      fetch: fakeFetch(() => ({ status: 403, body: problem, contentType: 'application/problem+json' })).fetch,
    });
    const error = (await client
      .request('POST', '/v1/tasks', { body: {} })
      .catch((e: unknown) => e)) as GatewayError;
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({
      code: 'policy_denied',
      status: 403,
      message: 'finance may not send tasks to legal',
      details: { rule: problem.rule },
    });
  });

  it('maps answers without a problem body from their status', () => {
    expect(errorFromResponse(502, 'Bad Gateway')).toMatchObject({
      code: 'internal',
      status: 502,
      message: 'gateway answered 502',
    });
    expect(errorFromResponse(409, { title: 'Conflict' })).toMatchObject({
      code: 'conflict',
      message: 'Conflict',
    });
    expect([400, 401, 403, 404, 409, 413, 429, 503, 504, 500].map(codeForStatus)).toEqual([
      'validation_failed',
      'unauthenticated',
      'forbidden',
      'not_found',
      'conflict',
      'payload_too_large',
      'rate_limited',
      'unavailable',
      'timeout',
      'internal',
    ]);
  });

  it('reports a timeout as timeout', async () => {
    const client = new GatewayClient({
      gatewayUrl: 'http://gw.test',
      tokens: new CountingTokens(),
      fetch: fakeFetch(() =>
        Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }),
      ).fetch,
    });
    await expect(client.request('GET', '/v1/agents')).rejects.toMatchObject({
      code: 'timeout',
      message: 'the gateway at http://gw.test did not answer in time',
    });
  });
});
