import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from '@jest/globals';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { createLogger } from './logger.js';
import {
  extractTraceHeaders,
  injectTraceHeaders,
  startHttpClientSpan,
  startHttpServerSpan,
} from './http-tracing.js';
import { startTracing, type Tracing } from './tracing.js';

const REMOTE_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const REMOTE_SPAN = '00f067aa0ba902b7';

function capture(): { lines: Array<Record<string, unknown>>; destination: Writable } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, destination };
}

describe('startTracing', () => {
  let tracing: Tracing | undefined;
  // A provider's shutdown stops its exporter, so every test has its own.
  let exporter = new InMemorySpanExporter();

  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
    exporter = new InMemorySpanExporter();
  });

  it('registers a provider whose spans nest through async code and reach the exporter with the service name', async () => {
    tracing = startTracing({ service: 'unit-svc', exporter });
    const tracer = trace.getTracer('unit');
    await tracer.startActiveSpan('outer', async (outer) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      tracer.startSpan('inner').end();
      outer.end();
    });
    const [inner, outer] = exporter.getFinishedSpans();
    expect(outer?.name).toBe('outer');
    expect(inner?.parentSpanContext?.spanId).toBe(outer?.spanContext().spanId);
    expect(inner?.spanContext().traceId).toBe(outer?.spanContext().traceId);
    expect(outer?.resource.attributes['service.name']).toBe('unit-svc');
  });

  it('sets the W3C propagator globally', () => {
    tracing = startTracing({ service: 'unit-svc', exporter });
    const ctx = propagation.extract(context.active(), {
      traceparent: `00-${REMOTE_TRACE}-${REMOTE_SPAN}-01`,
    });
    expect(trace.getSpanContext(ctx)?.traceId).toBe(REMOTE_TRACE);
  });

  it('refuses a second start while one is active, and unregisters everything on shutdown', async () => {
    tracing = startTracing({ service: 'unit-svc', exporter });
    expect(() => startTracing({ service: 'other' })).toThrow(/already started/);
    await tracing.shutdown();
    tracing = undefined;
    const span = trace.getTracer('unit').startSpan('after');
    expect(span.isRecording()).toBe(false);
    span.end();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    // Startable again (a test process registers one per file).
    exporter = new InMemorySpanExporter();
    tracing = startTracing({ service: 'unit-svc', exporter });
    trace.getTracer('unit').startSpan('again').end();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['again']);
  });

  it('gives log lines written inside a span that span’s trace and span ids', () => {
    tracing = startTracing({ service: 'unit-svc', exporter });
    const { lines, destination } = capture();
    const logger = createLogger({ service: 'unit-svc', destination });
    logger.info('outside');
    trace.getTracer('unit').startActiveSpan('handler', (span) => {
      logger.info({ orderId: 1 }, 'inside');
      span.end();
    });
    const handler = exporter.getFinishedSpans()[0];
    expect(lines[0]).not.toHaveProperty('traceId');
    expect(lines[1]).toMatchObject({
      msg: 'inside',
      traceId: handler?.spanContext().traceId,
      spanId: handler?.spanContext().spanId,
    });
  });
});

describe('OTLP/HTTP export', () => {
  it('batches spans to <endpoint>/v1/traces and flushes them on shutdown', async () => {
    const received: Array<{ path: string; type: string; body: string }> = [];
    const collector = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({
          path: req.url ?? '',
          type: req.headers['content-type'] ?? '',
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const { port } = collector.address() as AddressInfo;
    try {
      const tracing = startTracing({ service: 'otlp-svc', otlpEndpoint: `http://127.0.0.1:${port}/` });
      trace.getTracer('unit').startSpan('exported-span').end();
      // The batch waits up to 5 s; shutdown must not lose it.
      expect(received).toHaveLength(0);
      await tracing.shutdown();
      expect(received).toHaveLength(1);
      expect(received[0]?.path).toBe('/v1/traces');
      expect(received[0]?.body).toContain('exported-span');
      expect(received[0]?.body).toContain('otlp-svc');
    } finally {
      await new Promise((resolve) => collector.close(resolve));
    }
  });
});

describe('HTTP spans', () => {
  let tracing: Tracing | undefined;
  // A provider's shutdown stops its exporter, so every test has its own.
  let exporter = new InMemorySpanExporter();

  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
    exporter = new InMemorySpanExporter();
  });

  it('a server span continues the caller’s traceparent; a client span inside it is its child and is injected', () => {
    tracing = startTracing({ service: 'unit-http', exporter });
    const server = startHttpServerSpan('unit', 'POST', {
      traceparent: `00-${REMOTE_TRACE}-${REMOTE_SPAN}-01`,
      authorization: 'Bearer secret-token',
    });
    const outgoing: Record<string, string> = {};
    context.with(server.context, () => {
      const client = startHttpClientSpan('unit', 'POST', new URL('http://upstream.test:9000/v1/chat?q=x'));
      injectTraceHeaders(outgoing, client.context);
      client.end({ status: 200 });
    });
    server.end('/v1/chat/completions', 201);
    server.end('/ignored', 500);
    const [client, srv] = exporter.getFinishedSpans();
    expect(srv).toMatchObject({ name: 'POST /v1/chat/completions', kind: SpanKind.SERVER });
    expect(srv?.spanContext().traceId).toBe(REMOTE_TRACE);
    expect(srv?.parentSpanContext?.spanId).toBe(REMOTE_SPAN);
    expect(srv?.attributes).toEqual({
      'http.request.method': 'POST',
      'http.route': '/v1/chat/completions',
      'http.response.status_code': 201,
    });
    expect(client?.kind).toBe(SpanKind.CLIENT);
    expect(client?.parentSpanContext?.spanId).toBe(srv?.spanContext().spanId);
    expect(client?.attributes).toMatchObject({ 'server.address': 'upstream.test', 'server.port': 9000 });
    expect(JSON.stringify(client?.attributes)).not.toContain('q=x');
    expect(outgoing['traceparent']).toBe(`00-${REMOTE_TRACE}-${client?.spanContext().spanId}-01`);
    expect(trace.getSpanContext(extractTraceHeaders(outgoing))?.spanId).toBe(client?.spanContext().spanId);
  });

  it('marks 5xx server answers and failed client calls as errors', () => {
    tracing = startTracing({ service: 'unit-http', exporter });
    const server = startHttpServerSpan('unit', 'GET', {});
    context.with(server.context, () =>
      startHttpClientSpan('unit', 'GET', new URL('https://api.test/v1')).end({ error: 'timeout' }),
    );
    server.end('/v1/models', 502);
    const [client, srv] = exporter.getFinishedSpans();
    expect(srv?.status.code).toBe(2);
    expect(srv?.parentSpanContext).toBeUndefined();
    expect(client?.attributes).toMatchObject({ 'error.type': 'timeout', 'server.port': 443 });
    expect(client?.status.code).toBe(2);
  });
});
