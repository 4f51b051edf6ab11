import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ModelRelay } from './model-relay.js';

/** A stand-in for the privacy proxy: records what reaches it, streams two SSE events back. */
async function target(): Promise<{
  url: string;
  seen: Array<{ path: string; headers: IncomingHttpHeaders; body: string }>;
  server: Server;
}> {
  const seen: Array<{ path: string; headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: a\ndata: 1\n\n');
      setTimeout(() => res.end('event: b\ndata: 2\n\n'), 20);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/proxy`, seen, server };
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

describe('ModelRelay', () => {
  it("swaps the run key for the current token on every call, under the target's path, and streams the answer", async () => {
    const upstream = await target();
    closers.push(() => new Promise((resolve) => upstream.server.close(() => resolve())));
    let issued = 0;
    const relay = new ModelRelay({
      targetUrl: upstream.url,
      tokens: { token: async () => `token-${++issued}` },
    });
    const url = await relay.listen();
    closers.push(() => relay.close());

    for (const auth of [{ 'x-api-key': relay.key }, { authorization: `Bearer ${relay.key}` }]) {
      const res = await fetch(`${url}/v1/messages?beta=true`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'm', messages: [] }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      expect(await res.text()).toBe('event: a\ndata: 1\n\nevent: b\ndata: 2\n\n');
    }
    expect(upstream.seen.map((s) => [s.path, s.headers.authorization, s.headers['x-api-key']])).toEqual([
      ['/proxy/v1/messages?beta=true', 'Bearer token-1', undefined],
      ['/proxy/v1/messages?beta=true', 'Bearer token-2', undefined],
    ]);
    expect(upstream.seen[0]?.headers['anthropic-version']).toBe('2023-06-01');
    expect(JSON.parse(upstream.seen[0]?.body ?? '')).toEqual({ model: 'm', messages: [] });
  });

  it('refuses a call without the run key (401) and never forwards it', async () => {
    const upstream = await target();
    closers.push(() => new Promise((resolve) => upstream.server.close(() => resolve())));
    const relay = new ModelRelay({ targetUrl: upstream.url, tokens: { token: async () => 'token' } });
    const url = await relay.listen();
    closers.push(() => relay.close());
    for (const headers of [{}, { 'x-api-key': 'guess' }, { authorization: `Bearer ${relay.key}x` }]) {
      const res = await fetch(`${url}/v1/messages`, { method: 'POST', headers, body: '{}' });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
        'not the key of this run',
      );
    }
    expect(upstream.seen).toEqual([]);
  });

  it('answers 503 when no token can be had, and 502 when the target does not answer', async () => {
    const failing = new ModelRelay({
      targetUrl: 'http://127.0.0.1:9',
      tokens: {
        token: async () => {
          throw new Error('provider down');
        },
      },
    });
    const failingUrl = await failing.listen();
    closers.push(() => failing.close());
    const noToken = await fetch(`${failingUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': failing.key },
      body: '{}',
    });
    expect(noToken.status).toBe(503);
    expect(await noToken.text()).toContain('provider down');

    const unreachable = new ModelRelay({
      targetUrl: 'http://127.0.0.1:9',
      tokens: { token: async () => 't' },
    });
    const unreachableUrl = await unreachable.listen();
    closers.push(() => unreachable.close());
    const res = await fetch(`${unreachableUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': unreachable.key },
      body: '{}',
    });
    expect(res.status).toBe(502);
    expect(await res.text()).toContain('the privacy proxy did not answer');
  });
});
