import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { Registry } from 'prom-client';
import { createLogger, startTracing, TokenBucketLimiter, type Tracing } from '@orgmesh/telemetry';
import type { GatewayIdentity } from '../auth/identity.js';
import { GatewayMetrics } from '../gateway.metrics.js';
import type { RouteExecutor } from '../routes/executor.js';
import { defineRawRoute, type RawRoute } from '../routes/route.js';
import { GatewayHttpServer } from './http.server.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

function raw(path: string, handle: RawRoute['handle']): RawRoute {
  return defineRawRoute({
    operationId: path,
    method: 'GET',
    path,
    tag: 'sessions',
    summary: path,
    access: 'public',
    responses: {},
    handle,
  });
}

/** Sends raw bytes and returns everything the server wrote before closing the connection. */
function exchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function problemOf(response: string): Record<string, unknown> {
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
}

describe('GatewayHttpServer boundaries', () => {
  let tracing: Tracing;
  let server: GatewayHttpServer;
  let registry: Registry;
  let port: number;
  let url: string;
  const lines: Array<Record<string, unknown>> = [];

  const unexpected = async (transport: string) =>
    (await registry.getSingleMetric('orgmesh_unexpected_errors_total')?.get())?.values
      .filter((v) => v.labels['edge'] === transport)
      .reduce((sum, v) => sum + v.value, 0) ?? 0;

  beforeAll(async () => {
    // A real provider, so the request's span is active and log lines carry its trace id.
    tracing = startTracing({ service: 'gateway-unit', exporter: new InMemorySpanExporter() });
    registry = new Registry();
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n'))
          if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    server = new GatewayHttpServer({
      limiter: new TokenBucketLimiter({ perSecond: 10_000, burst: 10_000 }),
      metrics: new GatewayMetrics(registry),
      registry,
      logger: createLogger({ service: 'gateway-unit', level: 'info', destination }),
      maxBodyBytes: 1024,
      maxImportBytes: 1024,
      corsOrigins: undefined,
      ready: async () => ({}),
    });
    port = await server.listen(0, '127.0.0.1', 100);
    url = `http://127.0.0.1:${port}`;
    server.mount({
      routes: [
        raw('/v1/ok', async (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
        }),
        raw('/v1/throws', async () => {
          throw new TypeError('Cannot read properties of undefined (input "hunter2")');
        }),
        raw('/v1/stream-then-throw', async (_req, res) => {
          res.setHeader('content-type', 'text/event-stream');
          res.writeHead(200);
          res.write(': subscribed\n\n');
          throw new RangeError('Maximum call stack size exceeded');
        }),
        raw('/v1/body-then-throw', async (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
          res.write('{"partial":');
          throw new Error('boom');
        }),
      ],
      executor: {} as RouteExecutor,
      identity: {} as GatewayIdentity,
      docs: { json: '{}', html: '' },
    });
  });

  afterAll(async () => {
    await server.close();
    await tracing.shutdown();
  });

  afterEach(() => {
    lines.length = 0;
  });

  it('answers an unexpected throw as the typed internal problem, logged once with the trace id, counted, and keeps serving', async () => {
    const before = await unexpected('http');
    const res = await fetch(`${url}/v1/throws`, {
      headers: { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` },
    });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await res.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 500, code: 'internal', detail: 'internal error' });
    // The error's own message (which may echo input) never reaches the client.
    expect(JSON.stringify(problem)).not.toContain('Cannot read');
    const logged = lines.filter((l) => l['msg'] === 'request failed unexpectedly');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      level: 'error',
      traceId: TRACE_ID,
      route: '/v1/throws',
      errorType: 'TypeError',
    });
    // Not the message: it may quote the input.
    expect(JSON.stringify(logged[0])).not.toContain('hunter2');
    expect(await unexpected('http')).toBe(before + 1);
    expect((await fetch(`${url}/v1/ok`)).status).toBe(200);
  });

  it('ends an event stream that throws after its headers with an error event, cleanly', async () => {
    const before = await unexpected('sse');
    const res = await fetch(`${url}/v1/stream-then-throw`);
    expect(res.status).toBe(200);
    // text() resolves only if the chunked response was terminated properly.
    const text = await res.text();
    expect(text).toBe(
      ': subscribed\n\nevent: error\ndata: {"code":"internal","detail":"the event stream was interrupted"}\n\n',
    );
    expect(await unexpected('sse')).toBe(before + 1);
    expect(lines.filter((l) => l['msg'] === 'request failed unexpectedly')).toHaveLength(1);
  });

  it('cuts off a fixed-length body that throws halfway, so it never looks complete', async () => {
    // The head may or may not have left before the connection was cut; the body never completes.
    await expect(fetch(`${url}/v1/body-then-throw`).then((res) => res.text())).rejects.toThrow();
    expect((await fetch(`${url}/v1/ok`)).status).toBe(200);
  });

  it('answers 405 with method_not_allowed and Allow', async () => {
    const res = await fetch(`${url}/v1/ok`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
    expect(await res.json()).toMatchObject({ status: 405, code: 'method_not_allowed', allow: ['GET'] });
  });

  it("gives Node's own 431 (request line over 16 KB) a problem+json body and closes", async () => {
    const response = await exchange(
      port,
      `GET /v1/ok?q=${'a'.repeat(17 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    expect(response).toMatch(/^HTTP\/1\.1 431 /);
    expect(response).toMatch(/\r\nContent-Type: application\/problem\+json\r\n/);
    expect(response).toMatch(/\r\nConnection: close\r\n/);
    expect(problemOf(response)).toMatchObject({
      status: 431,
      code: 'payload_too_large',
      parserCode: 'HPE_HEADER_OVERFLOW',
    });
  });

  it.each([
    ['a control character in a header value', 'GET /v1/ok HTTP/1.1\r\nHost: x\r\nX-A: a\u0001b\r\n\r\n'],
    ['a control character in a header name', 'GET /v1/ok HTTP/1.1\r\nHost: x\r\nX\u0000A: b\r\n\r\n'],
    ['a malformed request line', 'GET /v1/ok HTTP/9\r\n\r\n'],
    [
      'conflicting framing',
      'POST /v1/ok HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
  ])("gives Node's own 400 for %s a problem+json body", async (_what, request) => {
    const response = await exchange(port, request);
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    expect(response).toMatch(/\r\nConnection: close\r\n/);
    expect(problemOf(response)).toMatchObject({ status: 400, code: 'validation_failed' });
    expect((await fetch(`${url}/v1/ok`)).status).toBe(200);
  });

  it('answers an HTTP/1.1 request without Host with a problem body (Node alone would send an empty 400)', async () => {
    const response = await exchange(port, 'GET /v1/ok HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    expect(problemOf(response)).toMatchObject({
      status: 400,
      code: 'validation_failed',
      issues: [{ path: 'header.Host' }],
    });
    const old = await exchange(port, 'GET /v1/ok HTTP/1.0\r\n\r\n');
    expect(old).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('handles a request with an unknown Expect as if it had none (Node alone would send an empty 417)', async () => {
    const response = await exchange(
      port,
      'GET /v1/ok HTTP/1.1\r\nHost: x\r\nExpect: x\r\nConnection: close\r\n\r\n',
    );
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    const missing = await exchange(
      port,
      'GET /v1/nothing HTTP/1.1\r\nHost: x\r\nExpect: \r\nConnection: close\r\n\r\n',
    );
    expect(problemOf(missing)).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('treats an unparsable absolute-form target as an unknown path, not a crash', async () => {
    const response = await exchange(port, 'GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(response).toMatch(/^HTTP\/1\.1 (400|404) /);
    expect(problemOf(response)).toHaveProperty('code');
  });
});

describe('GatewayHttpServer close', () => {
  it('ends event streams at once, lets a request in flight finish, refuses new connections and closes idle ones', async () => {
    const server = new GatewayHttpServer({
      limiter: new TokenBucketLimiter({ perSecond: 10_000, burst: 10_000 }),
      metrics: new GatewayMetrics(new Registry()),
      registry: new Registry(),
      logger: createLogger({ service: 'gateway-unit', level: 'error' }),
      maxBodyBytes: 1024,
      maxImportBytes: 1024,
      corsOrigins: undefined,
      ready: async () => ({}),
    });
    // A grace long enough that anything ended only by it shows in the timings below.
    const graceMs = 3_000;
    const port = await server.listen(0, '127.0.0.1', graceMs);
    const url = `http://127.0.0.1:${port}`;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let arrived!: () => void;
    const inFlight = new Promise<void>((resolve) => (arrived = resolve));
    server.mount({
      routes: [
        raw('/v1/quick', async (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"quick":true}');
        }),
        raw('/v1/slow', async (_req, res) => {
          arrived();
          await released;
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"slow":true}');
        }),
        raw('/v1/stream', async (_req, res, { signal }) => {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(': subscribed\n\n');
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          res.end('event: closed\ndata: {}\n\n');
        }),
      ],
      executor: {} as RouteExecutor,
      identity: {} as GatewayIdentity,
      docs: { json: '{}', html: '' },
    });

    // An idle keep-alive connection, an open event stream and a request in flight.
    expect(await (await fetch(`${url}/v1/quick`)).json()).toEqual({ quick: true });
    const stream = await fetch(`${url}/v1/stream`);
    const reader = stream.body!.getReader();
    await reader.read();
    const slow = fetch(`${url}/v1/slow`);
    await inFlight;

    const started = Date.now();
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      rest += Buffer.from(chunk.value).toString('utf8');
    // The stream ended by its handler (the abort), not cut by the grace.
    expect(rest).toBe('event: closed\ndata: {}\n\n');
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(fetch(`${url}/v1/quick`)).rejects.toThrow();
    expect(closed).toBe(false);

    release();
    const answer = await slow;
    expect([answer.status, await answer.json()]).toEqual([200, { slow: true }]);
    await closing;
    expect(Date.now() - started).toBeLessThan(graceMs);
  });
});
