import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { SpanKind } from '@opentelemetry/api';
import { PRIVACY_CONTEXT_HEADER, PRIVACY_SESSION_HEADER } from '@orgmesh/contracts';
import { startTracing, type Tracing } from '@orgmesh/telemetry';
import { MemoryUsageStore, type UsageRow } from '../src/governance/usage-store.js';
import { SEEDED, SEEDED_VALUES, startHarness, type Harness } from './proxy-harness.js';

/**
 * Issue 24, usage accounting and GenAI telemetry: the official SDKs through the proxy to the recording
 * fake, JSON and streaming, both providers. Usage is read from the provider's answer (the fake reports
 * 10 input and 20 output tokens unless scripted otherwise), attributed to agent, role, session,
 * workflow, provider and model, priced, counted in the metrics and put on the spans — never content.
 */
const spans = new InMemorySpanExporter();
let tracing: Tracing;
let h: Harness;
let usage: MemoryUsageStore;

beforeAll(async () => {
  tracing = startTracing({ service: 'privacy-proxy-llm-usage-test', exporter: spans });
  usage = new MemoryUsageStore();
  h = await startHarness({}, { governance: { usage, usageFlushMs: 60_000 } });
});

afterAll(async () => {
  await h.close();
  await tracing.shutdown();
});

beforeEach(() => {
  h.upstream.script({});
  spans.reset();
});

const SESSION = 'sess-usage-1';
const WORKFLOW = 'ctx-usage-1';

/** Rows written for this agent, after the recorder's flush (normally once a second, off the request path). */
async function rowsOf(agentId: string): Promise<UsageRow[]> {
  await h.governor!.recorder.flush();
  return usage.query({ tenant: 'acme', agentId, from: 0, to: Date.now() + 3_600_000, limit: 100 });
}

async function openai(agent: string): Promise<OpenAI> {
  return new OpenAI({
    apiKey: await h.token('finance', { sub: agent }),
    baseURL: `${h.url}/v1`,
    maxRetries: 0,
    defaultHeaders: { [PRIVACY_SESSION_HEADER]: SESSION, [PRIVACY_CONTEXT_HEADER]: WORKFLOW },
  });
}

async function anthropic(agent: string): Promise<Anthropic> {
  return new Anthropic({
    apiKey: await h.token('finance', { sub: agent }),
    baseURL: h.url,
    maxRetries: 0,
    defaultHeaders: { [PRIVACY_SESSION_HEADER]: SESSION, [PRIVACY_CONTEXT_HEADER]: WORKFLOW },
  });
}

function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.split(' ').pop());
  }
  return undefined;
}

/** The proxy's SERVER span of the last model call. */
function serverSpan(): ReadableSpan {
  const found = spans
    .getFinishedSpans()
    .filter((s) => s.kind === SpanKind.SERVER && s.name.startsWith('POST /v1/'));
  expect(found.length).toBeGreaterThan(0);
  return found.at(-1)!;
}

describe('usage accounting at the proxy', () => {
  it('records an OpenAI JSON call per agent, role, session, workflow, provider and model, priced, with GenAI span attributes', async () => {
    const client = await openai('usage-openai-json');
    const answer = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `Write to ${SEEDED.email} about SSN ${SEEDED.ssn}` }],
    });
    expect(answer.choices[0]!.message.content).toContain(SEEDED.email);
    const rows = await rowsOf('usage-openai-json');
    expect(rows).toEqual([
      expect.objectContaining({
        tenant: 'acme',
        agentId: 'usage-openai-json',
        role: 'finance',
        sessionId: SESSION,
        workflowId: WORKFLOW,
        provider: 'openai',
        model: 'gpt-4o-mini',
        requests: 1,
        inputTokens: 10,
        outputTokens: 20,
        estimatedRequests: 0,
        // Shipped default price of gpt-4o-mini: $0.15 / $0.60 per million → 10 × 0.15 + 20 × 0.6 = 13.5 µ$.
        costMicroUsd: 14,
      }),
    ]);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    const labels = { provider: 'openai', model: 'gpt-4o-mini', role: 'finance' };
    expect(
      metricValue(metrics, 'orgmesh_privacy_proxy_llm_tokens_total', { ...labels, type: 'input' }),
    ).toBeGreaterThanOrEqual(10);
    expect(
      metricValue(metrics, 'orgmesh_privacy_proxy_llm_calls_total', { ...labels, estimated: 'false' }),
    ).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, 'orgmesh_privacy_proxy_llm_cost_usd_total', labels)).toBeGreaterThan(0);

    const span = serverSpan();
    expect(span.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 20,
      'gen_ai.response.finish_reasons': ['stop'],
      'orgmesh.privacy.masked_count': 2,
    });
    // The upstream CLIENT span carries them too (the span of the model call itself).
    const client_ = spans
      .getFinishedSpans()
      .find((s) => s.kind === SpanKind.CLIENT && s.attributes['gen_ai.request.model']);
    expect(client_?.attributes['gen_ai.usage.output_tokens']).toBe(20);
    // Never content: no seeded value and no placeholder in any attribute of any span.
    const attributes = JSON.stringify(spans.getFinishedSpans().map((s) => s.attributes));
    for (const value of SEEDED_VALUES) expect(attributes).not.toContain(value);
    expect(attributes).not.toMatch(/\[\[[A-Z]+_/);
  });

  it('asks an OpenAI stream for its usage and drops that chunk for a client that did not ask', async () => {
    const client = await openai('usage-openai-stream');
    const stream = await client.chat.completions.create({
      model: 'gpt-4.1',
      stream: true,
      messages: [{ role: 'user', content: `Call ${SEEDED.phone}` }],
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toContain(SEEDED.phone);
    // What the client asked for: no usage chunk (no chunk without choices).
    expect(chunks.every((c) => c.choices.length > 0 && !c.usage)).toBe(true);
    // What the provider was asked: the usage.
    expect(h.upstream.last.json?.['stream_options']).toEqual({ include_usage: true });
    expect(await rowsOf('usage-openai-stream')).toEqual([
      expect.objectContaining({
        provider: 'openai',
        model: 'gpt-4.1',
        inputTokens: 10,
        outputTokens: 20,
        estimatedRequests: 0,
      }),
    ]);
    expect(serverSpan().attributes).toMatchObject({
      'gen_ai.usage.output_tokens': 20,
      'orgmesh.llm.streaming': true,
    });
  });

  it('passes the usage chunk through to a client that asked for it (stream_options.include_usage)', async () => {
    const client = await openai('usage-openai-asked');
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Nothing personal.' }],
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 20 });
    expect(await rowsOf('usage-openai-asked')).toEqual([
      expect.objectContaining({ inputTokens: 10, outputTokens: 20 }),
    ]);
  });

  it('records Anthropic JSON and streamed calls (message_start input, message_delta output)', async () => {
    h.upstream.script({ usage: { input: 42, output: 7 } });
    const client = await anthropic('usage-anthropic');
    await client.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      messages: [{ role: 'user', content: `Mail ${SEEDED.email}` }],
    });
    const stream = client.messages.stream({
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      messages: [{ role: 'user', content: `Mail ${SEEDED.email} again` }],
    });
    const final = await stream.finalMessage();
    expect(JSON.stringify(final.content)).toContain(SEEDED.email);
    expect(await rowsOf('usage-anthropic')).toEqual([
      expect.objectContaining({
        provider: 'anthropic',
        model: 'claude-haiku-4-5',
        requests: 2,
        inputTokens: 84,
        outputTokens: 14,
        estimatedRequests: 0,
        // $1 / $5 per million: (42 × 1 + 7 × 5) × 2 = 154 µ$.
        costMicroUsd: 154,
      }),
    ]);
    expect(serverSpan().attributes).toMatchObject({
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.usage.input_tokens': 42,
      'gen_ai.usage.output_tokens': 7,
      'gen_ai.response.finish_reasons': ['end_turn'],
    });
  });

  it('estimates the usage from the tokenizer, marked estimated, when the answer carries none', async () => {
    h.upstream.script({ usage: false });
    const client = await openai('usage-estimated');
    await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Summarise the quarter in one line.' }],
    });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'And once more, streamed.' }],
    });
    for await (const chunk of stream) void chunk;
    const [row] = await rowsOf('usage-estimated');
    expect(row).toMatchObject({ requests: 2, estimatedRequests: 2 });
    // Counted, not zero: the request bodies alone hold dozens of tokens.
    expect(row!.inputTokens).toBeGreaterThan(10);
    expect(row!.outputTokens).toBeGreaterThan(2);
    // The answers' text, not the stream's JSON around it: "Nothing personal here." is 4–5 tokens a call.
    expect(row!.outputTokens).toBeLessThan(30);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(
      metricValue(metrics, 'orgmesh_privacy_proxy_llm_calls_total', {
        model: 'gpt-4o-mini',
        estimated: 'true',
      }),
    ).toBe(2);
    expect(serverSpan().attributes['orgmesh.llm.usage_estimated']).toBe(true);
  });

  it('counts a stream that broke off by what it carried, estimated', async () => {
    h.upstream.script({ breakAfterDeltas: 6 });
    const client = await openai('usage-broken');
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'A long answer, please.' }],
    });
    // The proxy ends the stream at the break (end-of-stream rule): the client sees a stream without a finish.
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    await (async () => {
      for await (const chunk of stream) chunks.push(chunk);
    })().catch(() => undefined);
    expect(chunks.some((c) => c.choices[0]?.finish_reason)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const [row] = await rowsOf('usage-broken');
    expect(row).toMatchObject({ requests: 1, estimatedRequests: 1 });
    expect(row!.inputTokens).toBeGreaterThan(10);
    expect(row!.outputTokens).toBeGreaterThan(0);
  });

  it('keeps free text written into `model` out of usage rows, metrics and spans', async () => {
    const client = await openai('usage-odd-model');
    await client.chat.completions.create({
      model: `for ${SEEDED.email}`,
      messages: [{ role: 'user', content: 'Hi.' }],
    });
    // The body's model field is text there: masked on the way out, like any other.
    expect(h.upstream.last.body).not.toContain(SEEDED.email);
    expect(await rowsOf('usage-odd-model')).toEqual([
      expect.objectContaining({ model: 'other', requests: 1 }),
    ]);
    expect(serverSpan().attributes).toMatchObject({
      'gen_ai.request.model': 'other',
      'gen_ai.response.model': 'other',
    });
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).not.toContain(SEEDED.email);
    expect(metrics).not.toMatch(/\[\[[A-Z]+_/);
  });

  it('counts no tokens for a call the privacy check refused (strict), and the call never reached the provider', async () => {
    const before = h.upstream.requests.length;
    const client = new OpenAI({
      apiKey: await h.token('legal', { sub: 'usage-legal' }),
      baseURL: `${h.url}/v1`,
      maxRetries: 0,
    });
    await expect(
      client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `SSN ${SEEDED.ssn}` }],
      }),
    ).rejects.toMatchObject({ status: 422 });
    expect(h.upstream.requests.length).toBe(before);
    expect(await rowsOf('usage-legal')).toEqual([]);
  });
});
