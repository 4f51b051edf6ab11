import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startTracing, type Tracing } from '@orgmesh/telemetry';
import { FileProfileSource, type ProfileSource } from '../src/profiles/profile-source.js';
import { PROFILES, startHarness, type Harness } from './proxy-harness.js';

/**
 * Issue 17's last-resort boundary in the proxy: a dependency that throws something nobody expected
 * (a bug, here a profile source that throws a TypeError for one role) gives a typed `internal` error
 * in the provider's own shape, logged once with the trace id and counted; the process keeps serving.
 * And requests Node's parser refuses get a JSON body, not a bare status line.
 */
const SECRET = 'ivo.marchetti@example.com';
let h: Harness;
let tracing: Tracing;

class BuggyProfileSource implements ProfileSource {
  private readonly inner = FileProfileSource.fromObject(PROFILES);

  profileFor(caller: Parameters<ProfileSource['profileFor']>[0]) {
    // A message that quotes data, as library errors sometimes do: it must not reach the log.
    if (caller.role === 'buggy') throw new TypeError(`cannot read properties of ${SECRET}`);
    return this.inner.profileFor(caller);
  }

  getDirectory() {
    return this.inner.getDirectory();
  }
}

beforeAll(async () => {
  tracing = startTracing({ service: 'privacy-proxy-boundary-test' });
  h = await startHarness({}, { profiles: new BuggyProfileSource() });
});

afterAll(async () => {
  await h.close();
  await tracing.shutdown();
});

/** The counter of the HTTP edge; its series appears with the first count (labelled counters start absent). */
async function unexpectedCount(): Promise<number> {
  const text = await h.proxy.metrics.registry.metrics();
  return Number(
    /^orgmesh_unexpected_errors_total\{edge="http",service="privacy-proxy"\} (\d+)/m.exec(text)?.[1] ?? '0',
  );
}

describe('last-resort boundary', () => {
  it('answers an unexpected throw with a typed internal error in the OpenAI shape, logs it once with the trace id, counts it, keeps serving', async () => {
    const before = await unexpectedCount();
    const logsBefore = h.logs.length;
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const client = new OpenAI({
      apiKey: await h.token('buggy'),
      baseURL: `${h.url}/v1`,
      maxRetries: 0,
      defaultHeaders: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    const error = (await client.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error.status).toBe(500);
    expect(error.error).toMatchObject({ code: 'internal', type: 'api_error', message: 'internal error' });
    expect(await unexpectedCount()).toBe(before + 1);
    const lines = h.logs.slice(logsBefore).filter((l) => l.includes('"unexpected error"'));
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ errorType: 'TypeError', traceId });
    expect(h.logs.join('')).not.toContain(SECRET);

    // The same process answers the next caller normally.
    const ok = new OpenAI({ apiKey: await h.token('finance'), baseURL: `${h.url}/v1`, maxRetries: 0 });
    const completion = await ok.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0]!.message.content).toBe('Nothing personal here.');
  });

  it('answers in the Anthropic shape on the Anthropic route', async () => {
    const client = new Anthropic({ apiKey: await h.token('buggy'), baseURL: h.url, maxRetries: 0 });
    const error = (await client.messages
      .create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'api_error', code: 'internal' } });
  });
});

/** Sends raw bytes and returns the raw answer (the connection is closed by the server). */
function raw(bytes: string): Promise<string> {
  const { hostname, port } = new URL(h.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.setTimeout(5000, () => reject(new Error('no answer')));
    socket.write(bytes);
  });
}

describe("requests Node's parser refuses", () => {
  it('answers a malformed request with 400 and a JSON error body', async () => {
    const answer = await raw('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nBad\u0001Header: y\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as {
      error: { code: string; type: string };
    };
    expect(body.error).toMatchObject({ code: 'validation_failed', type: 'invalid_request_error' });
  });

  it('answers oversized headers with 431 and a JSON error body', async () => {
    const answer = await raw(`GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
    expect(body.error.code).toBe('payload_too_large');
  });
});
