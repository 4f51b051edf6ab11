import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from '@jest/globals';
import { AppError, ERROR_CODES, httpStatusFor } from '@orgmesh/contracts';
import {
  listenHttp,
  parseJsonBody,
  readBody,
  retryAfterSec,
  sendJson,
  sendProblem,
  toProblem,
  PROBLEM_CONTENT_TYPE,
  type HttpEdge,
} from './index.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** A real node:http server on a free port whose requests `handler` answers; errors become problems. */
async function serve(handler: Handler, graceMs?: number): Promise<HttpEdge> {
  const server = createServer((req, res) => {
    void Promise.resolve()
      .then(() => handler(req, res))
      .catch((error: unknown) => sendProblem(req, res, error, req.url));
  });
  return listenHttp(server, { port: 0, host: '127.0.0.1', graceMs });
}

/** A body sent chunked (no Content-Length), `chunks` pieces of `size` bytes. */
function chunked(chunks: number, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent++ === chunks) controller.close();
      else controller.enqueue(new Uint8Array(size).fill(0x61));
    },
  });
}

describe('http edge kit', () => {
  const edges: HttpEdge[] = [];
  afterEach(async () => {
    await Promise.all(edges.splice(0).map((edge) => edge.close()));
  });
  async function edge(handler: Handler, graceMs?: number): Promise<HttpEdge> {
    const started = await serve(handler, graceMs);
    edges.push(started);
    return started;
  }

  describe('readBody', () => {
    const echoLength: Handler = async (req, res) => {
      const body = await readBody(req, 1024);
      sendJson(res, 200, { bytes: body.length, text: body.toString('utf8') });
    };

    it('reads a body up to the limit, exactly the limit included', async () => {
      const { origin } = await edge(echoLength);
      const res = await fetch(`${origin}/echo`, { method: 'POST', body: 'x'.repeat(1024) });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ bytes: 1024, text: 'x'.repeat(1024) });
    });

    it('refuses a declared Content-Length over the limit as payload_too_large with the limit', async () => {
      const { origin } = await edge(echoLength);
      const res = await fetch(`${origin}/echo`, { method: 'POST', body: 'x'.repeat(1025) });
      expect(res.status).toBe(413);
      expect(res.headers.get('content-type')).toBe(PROBLEM_CONTENT_TYPE);
      expect(res.headers.get('connection')).toBe('close');
      expect(await res.json()).toEqual({
        type: 'urn:orgmesh:problem:payload_too_large',
        title: 'Payload too large',
        status: 413,
        detail: 'the request body exceeds 1024 bytes',
        code: 'payload_too_large',
        instance: '/echo',
        limitBytes: 1024,
      });
    });

    it('refuses a chunked body once it grows past the limit, and still answers the 413', async () => {
      let buffered = -1;
      const { origin } = await edge(async (req, res) => {
        try {
          buffered = (await readBody(req, 1024)).length;
        } finally {
          res.setHeader('x-seen', 'yes');
        }
      });
      const res = await fetch(`${origin}/echo`, {
        method: 'POST',
        body: chunked(64, 512),
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
      expect(res.headers.get('x-seen')).toBe('yes');
      expect(((await res.json()) as { limitBytes: number }).limitBytes).toBe(1024);
      expect(buffered).toBe(-1);
    });
  });

  describe('parseJsonBody', () => {
    it('parses JSON, gives undefined for an empty body and validation_failed naming the body otherwise', async () => {
      const { origin } = await edge(async (req, res) => {
        sendJson(res, 200, { value: parseJsonBody(await readBody(req, 1024)) ?? null });
      });
      const ok = await fetch(`${origin}/j`, { method: 'POST', body: '{"a":[1,2]}' });
      expect(await ok.json()).toEqual({ value: { a: [1, 2] } });
      const empty = await fetch(`${origin}/j`, { method: 'POST' });
      expect(await empty.json()).toEqual({ value: null });
      const bad = await fetch(`${origin}/j`, { method: 'POST', body: '{"a":' });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({
        code: 'validation_failed',
        detail: 'the request body is not valid JSON',
        issues: [{ path: 'body', message: 'not valid JSON' }],
      });
    });
  });

  describe('sendJson', () => {
    it('sends JSON with its byte length, a string as it is, extra headers winning', async () => {
      const { origin } = await edge((req, res) => {
        if (req.url === '/raw') sendJson(res, 201, '{"already":"json"}', { 'cache-control': 'no-store' });
        else sendJson(res, 200, { name: 'Zoë' });
      });
      const res = await fetch(`${origin}/obj`);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength('{"name":"Zoë"}')));
      expect(await res.json()).toEqual({ name: 'Zoë' });
      const raw = await fetch(`${origin}/raw`);
      expect(raw.status).toBe(201);
      expect(raw.headers.get('cache-control')).toBe('no-store');
      expect(await raw.text()).toBe('{"already":"json"}');
    });
  });

  describe('sendProblem', () => {
    it('gives every error code a type, a title and its one HTTP status', () => {
      for (const code of ERROR_CODES) {
        const problem = toProblem(new AppError(code, 'x'));
        expect(problem).toMatchObject({ type: `urn:orgmesh:problem:${code}`, code, status: httpStatusFor(code) });
        expect(problem.title.length).toBeGreaterThan(0);
      }
    });

    it('keeps the code and message and lifts details to members without overriding the standard ones', () => {
      const error = new AppError('session_illegal_transition', 'cannot complete a pending session', {
        details: { currentState: 'pending', allowedEvents: ['activate'], status: 999, code: 'x' },
      });
      expect(toProblem(error, '/v1/sessions/1/events')).toEqual({
        type: 'urn:orgmesh:problem:session_illegal_transition',
        title: 'Illegal session transition',
        status: 409,
        detail: 'cannot complete a pending session',
        code: 'session_illegal_transition',
        instance: '/v1/sessions/1/events',
        currentState: 'pending',
        allowedEvents: ['activate'],
      });
    });

    it('hides the message of anything that is not an AppError', () => {
      expect(toProblem(new Error('db password is hunter2'))).toMatchObject({
        status: 500,
        code: 'internal',
        detail: 'internal error',
      });
    });

    it('advises a retry delay for retryable errors only', () => {
      expect(retryAfterSec(new AppError('unavailable', 'x'))).toBe(1);
      expect(retryAfterSec(new AppError('rate_limited', 'x', { details: { retryAfterSec: 2.2 } }))).toBe(3);
      expect(retryAfterSec(new AppError('forbidden', 'x'))).toBeUndefined();
    });

    it('answers a throw that is not an AppError as internal, without its message', async () => {
      const { origin } = await edge(() => {
        throw new Error('secret input 4111 1111 1111 1111');
      });
      const res = await fetch(`${origin}/boom`);
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(text).not.toContain('secret');
      expect(JSON.parse(text)).toEqual({
        type: 'urn:orgmesh:problem:internal',
        title: 'Internal error',
        status: 500,
        detail: 'internal error',
        code: 'internal',
        instance: '/boom',
      });
    });

    it('adds retry-after to retryable codes and www-authenticate to unauthenticated; details stay below the reserved members', async () => {
      const { origin } = await edge((req) => {
        if (req.url === '/busy') throw new AppError('rate_limited', 'slow down', { details: { retryAfterSec: 2.5 } });
        if (req.url === '/down') throw new AppError('unavailable', 'try later');
        throw new AppError('unauthenticated', 'no token', { details: { status: 200, hint: 'send a token' } });
      });
      const busy = await fetch(`${origin}/busy`);
      expect([busy.status, busy.headers.get('retry-after')]).toEqual([429, '3']);
      const down = await fetch(`${origin}/down`);
      expect([down.status, down.headers.get('retry-after')]).toEqual([503, '1']);
      const anonymous = await fetch(`${origin}/me`);
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="orgmesh"');
      expect(anonymous.headers.get('retry-after')).toBeNull();
      expect(await anonymous.json()).toMatchObject({ status: 401, code: 'unauthenticated', hint: 'send a token' });
      const badToken = await fetch(`${origin}/me`, { headers: { authorization: 'Bearer nope' } });
      expect(badToken.headers.get('www-authenticate')).toBe('Bearer realm="orgmesh", error="invalid_token"');
    });

    it('answers HEAD with the headers only', async () => {
      const { port } = await edge(() => {
        throw new AppError('not_found', 'no such thing');
      });
      // fetch hides a HEAD body anyway; a raw request shows that none was sent.
      const answer = await new Promise<{ status: number; length: string | undefined; body: string }>((resolve, reject) => {
        const req = request({ port, host: '127.0.0.1', method: 'HEAD', path: '/x' }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, length: res.headers['content-length'], body }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(answer.status).toBe(404);
      expect(Number(answer.length)).toBeGreaterThan(0);
      expect(answer.body).toBe('');
    });
  });

  describe('listenHttp', () => {
    it('binds a free port, reports an origin reachable from this machine, and refuses a port in use', async () => {
      const first = await edge((_req, res) => sendJson(res, 200, { ok: true }));
      expect(first.host).toBe('127.0.0.1');
      expect(first.origin).toBe(`http://127.0.0.1:${first.port}`);
      expect(await (await fetch(`${first.origin}/`)).json()).toEqual({ ok: true });
      await expect(
        listenHttp(createServer(), { port: first.port, host: '127.0.0.1' }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    });

    it('names loopback in the origin when bound to every interface', async () => {
      const wide = await listenHttp(createServer(), { port: 0, host: '0.0.0.0' });
      edges.push(wide);
      expect(wide.host).toBe('0.0.0.0');
      expect(wide.origin).toBe(`http://127.0.0.1:${wide.port}`);
    });

    it('close lets a request in flight finish, refuses new connections and closes idle keep-alive ones', async () => {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let arrived!: () => void;
      const inFlight = new Promise<void>((resolve) => (arrived = resolve));
      const served = await serve(async (req, res) => {
        if (req.url === '/slow') {
          arrived();
          await released;
        }
        sendJson(res, 200, { path: req.url });
      });
      // An idle keep-alive connection must not hold the close up.
      expect((await fetch(`${served.origin}/quick`)).status).toBe(200);
      const slow = fetch(`${served.origin}/slow`);
      await inFlight;
      let closed = false;
      const closing = served.close().then(() => (closed = true));
      expect(served.close()).toBe(served.close());
      await expect(fetch(`${served.origin}/after`)).rejects.toThrow();
      expect(closed).toBe(false);
      release();
      expect(await (await slow).json()).toEqual({ path: '/slow' });
      // The connection the slow answer left idle is closed then, not when the client's keep-alive lapses.
      const answered = Date.now();
      await closing;
      expect(Date.now() - answered).toBeLessThan(1_000);
      expect(closed).toBe(true);
    });

    it('cuts requests still in flight when the grace is over', async () => {
      let arrived!: () => void;
      const inFlight = new Promise<void>((resolve) => (arrived = resolve));
      const served = await serve(() => {
        arrived();
        // Never answers: only the grace ends it.
        return new Promise<void>(() => undefined);
      }, 50);
      const hanging = fetch(`${served.origin}/hang`);
      await inFlight;
      const started = Date.now();
      await served.close();
      expect(Date.now() - started).toBeGreaterThanOrEqual(40);
      await expect(hanging).rejects.toThrow();
    });
  });
});
