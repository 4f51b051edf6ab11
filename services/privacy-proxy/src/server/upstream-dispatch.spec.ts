import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { dispatchCall } from './upstream-dispatch.js';

/** What the test server does with the next request. */
let answer: (req: IncomingMessage, res: ServerResponse, body: string) => void;
/** Resolved when the server sees a request's connection close before its answer ended. */
let closedEarly: Promise<void>;
let server: Server;
let base: string;
const dispatcher = new Agent({ keepAliveTimeout: 1_000 });

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => answer(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await dispatcher.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function watchEarlyClose(res: ServerResponse): void {
  closedEarly = new Promise((resolve) =>
    res.on('close', () => {
      if (!res.writableFinished) resolve();
    }),
  );
}

/** A stream's first event, then nothing more: the call stays open until the client ends it. */
function firstEventThenSilence(_req: IncomingMessage, res: ServerResponse): void {
  watchEarlyClose(res);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write('data: first\n\n');
}

const call = (signal = new AbortController().signal, body?: string) =>
  dispatchCall(dispatcher, new URL(`${base}/v1/chat/completions?x=1`), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
    ...(body !== undefined ? { body } : {}),
    signal,
  });

describe('dispatchCall', () => {
  it('sends the method, path, query, headers and body, and reads the status, headers and body', async () => {
    let seen: { method?: string; url?: string; auth?: string; length?: string; body?: string } = {};
    answer = (req, res, body) => {
      seen = {
        method: req.method,
        url: req.url,
        auth: req.headers['authorization'],
        length: req.headers['content-length'],
        body,
      };
      res.writeHead(201, { 'content-type': 'application/json', 'retry-after': '3' });
      res.end('{"ok":"é"}');
    };
    const sent = '{"messages":["ü"]}';
    const answered = await call(undefined, sent);
    expect(answered.status).toBe(201);
    expect(answered.headers['retry-after']).toBe('3');
    expect(await answered.body.text()).toBe('{"ok":"é"}');
    expect(seen).toEqual({
      method: 'POST',
      url: '/v1/chat/completions?x=1',
      auth: 'Bearer sk-test',
      length: String(Buffer.byteLength(sent)),
      body: sent,
    });
  });

  it('hands a stream over chunk by chunk, in order, as the upstream writes it', async () => {
    let next: () => void = () => undefined;
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      next = () => (i < 3 ? res.write(`data: ${i++}\n\n`) : res.end('data: [DONE]\n\n'));
      next();
    };
    const answered = await call();
    const got: string[] = [];
    for await (const chunk of answered.body) {
      got.push(chunk.toString());
      // The next event is written only after this one arrived: the body really streams.
      next();
    }
    expect(got.join('')).toBe('data: 0\n\ndata: 1\n\ndata: 2\n\ndata: [DONE]\n\n');
  });

  it('reads a large answer whole (bytes)', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 97);
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(big);
    };
    const answered = await call();
    const bytes = await answered.body.bytes();
    expect(bytes.length).toBe(big.length);
    expect(bytes.equals(big)).toBe(true);
  });

  it('rejects with the abort reason when aborted before the answer, and the upstream sees the call closed', async () => {
    let arrived!: () => void;
    const received = new Promise<void>((resolve) => (arrived = resolve));
    answer = (_req, res) => {
      watchEarlyClose(res);
      arrived(); // and never answers
    };
    const abort = new AbortController();
    const pending = call(abort.signal);
    await received;
    const reason = new Error('upstream timed out');
    abort.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await closedEarly;
  });

  it('fails the body with the abort reason when aborted while the body arrives', async () => {
    answer = firstEventThenSilence;
    const abort = new AbortController();
    const answered = await call(abort.signal);
    const read = (async () => {
      for await (const chunk of answered.body) {
        expect(chunk.toString()).toBe('data: first\n\n');
        abort.abort(new Error('client went away'));
      }
    })();
    await expect(read).rejects.toThrow('client went away');
    await closedEarly;
  });

  it('ends the upstream call when its reader stops early', async () => {
    answer = firstEventThenSilence;
    const answered = await call();
    for await (const _chunk of answered.body) break;
    await closedEarly;
  });

  it('fails the body when the upstream breaks off mid-answer', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n', () => res.socket?.destroy());
    };
    const answered = await call();
    await expect(answered.body.text()).rejects.toThrow();
  });

  it('rejects when the upstream cannot be reached, and at once for a signal already aborted', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(
      dispatchCall(dispatcher, new URL(`http://127.0.0.1:${port}/v1/models`), {
        method: 'GET',
        headers: {},
        signal: new AbortController().signal,
      }),
    ).rejects.toThrow(/ECONNREFUSED|connect/);
    const reason = new Error('already');
    await expect(call(AbortSignal.abort(reason))).rejects.toBe(reason);
  });
});
