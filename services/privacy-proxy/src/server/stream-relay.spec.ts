import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { jsonStringContent, PlaceholderMapping, Pseudonymizer, Restorer } from '@orgmesh/privacy';
import { PrivacyProxyMetrics } from '../privacy-proxy.metrics.js';
import type { Exchange } from './exchange.js';
import { relayStream } from './stream-relay.js';
import type { UpstreamResponse } from './upstream.js';

const mapping = new PlaceholderMapping();
const EMAIL = new Pseudonymizer('stream-relay-test-key-0123456789').placeholder(
  't',
  'email',
  'ann@example.com',
  mapping,
);
const metrics = new PrivacyProxyMetrics({ defaultMetrics: false });

const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

/** An upstream stream that arrives in one read: the role chunk, 30 content chunks, the finish, [DONE]. */
const BATCH =
  chunk({ role: 'assistant', content: '' }) +
  chunk({ content: 'Hello' }) +
  chunk({ content: ` ${EMAIL}` }) +
  Array.from({ length: 28 }, (_, i) => chunk({ content: ` w${i}` })).join('') +
  chunk({}, 'stop') +
  'data: [DONE]\n\n';

let server: Server;
let url: string;
/** The writes of the last relayed answer, as the relay made them. */
let writes: string[] = [];
/** The relay's writes and the socket's flushes to the kernel, in order. */
let order: Array<'write' | 'flush'> = [];
let restore = true;

beforeAll(async () => {
  server = createServer((_req, res) => {
    writes = [];
    order = [];
    const write = res.write.bind(res) as (chunk: unknown) => boolean;
    res.write = ((data: string | Uint8Array) => {
      writes.push(typeof data === 'string' ? data : Buffer.from(data).toString('utf8'));
      order.push('write');
      return write(data);
    }) as typeof res.write;
    // What the socket hands to the kernel, and when (a corked socket hands nothing until uncorked).
    const socket = res.socket as unknown as Record<'_write' | '_writev', (...args: unknown[]) => void>;
    for (const method of ['_write', '_writev'] as const) {
      const flush = socket[method].bind(socket);
      socket[method] = (...args: unknown[]) => {
        order.push('flush');
        flush(...args);
      };
    }
    const upstream: UpstreamResponse = {
      status: 200,
      header: () => undefined,
      body: Readable.from([Buffer.from(BATCH)]) as unknown as UpstreamResponse['body'],
    };
    const x = { res, log: {} } as unknown as Exchange;
    void relayStream(
      metrics,
      x,
      upstream,
      {},
      {
        provider: 'openai',
        restorer: restore ? new Restorer(mapping) : undefined,
        jsonRestorer: restore ? new Restorer(mapping, { encode: jsonStringContent }) : undefined,
        dropUsageChunk: false,
      },
      undefined,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function get(): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

describe('relayStream', () => {
  it('writes the first token on its own when the upstream hands over many events at once, the rest in one write', async () => {
    restore = true;
    const body = await get();
    expect(writes).toHaveLength(2);
    // The first write ends with the first text, before the other 31 events are restored.
    expect(writes[0]).toBe(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'Hello' }));
    expect(writes[1]).toContain('ann@example.com');
    // And it reaches the kernel before the rest is restored, not at the next tick after it (the
    // headers may have gone before it, on their own).
    const first = order.indexOf('write');
    expect(order.slice(first, first + 3)).toEqual(['write', 'flush', 'write']);
    expect(body).toBe(BATCH.replace(EMAIL, 'ann@example.com'));
  });

  it('relays the bytes as they came when nothing is to be restored', async () => {
    restore = false;
    const body = await get();
    expect(writes).toHaveLength(1);
    expect(body).toBe(BATCH);
  });
});
