import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import fc from 'fast-check';
import { PrivacyRedacted } from '@orgmesh/contracts';
import { createLogger } from '@orgmesh/telemetry';
import { RecordingAuditSink } from '../src/audit/audit-sink.js';
import { JoseTokenVerifier } from '../src/auth/token-verifier.js';
import { createPrivacyProxy } from '../src/privacy-proxy.server.js';
import { FileProfileSource } from '../src/profiles/profile-source.js';
import { pieces, placeholdersIn } from './fake-upstream.js';
import { SEEDED, SEEDED_TEXT, SEEDED_VALUES, sseData, startHarness, type Harness } from './proxy-harness.js';

let h: Harness;
let finance: string;

beforeAll(async () => {
  h = await startHarness();
  finance = await h.token('finance');
});

afterAll(async () => {
  await h.close();
});

const TOOLS_OPENAI = [
  {
    type: 'function' as const,
    function: {
      name: 'send_email',
      description: 'Send an email',
      parameters: {
        type: 'object',
        properties: { recipients: { type: 'array', items: { type: 'string' } }, note: { type: 'string' } },
      },
    },
  },
];

function openaiRequest(stream: boolean): Record<string, unknown> {
  return {
    model: 'gpt-test',
    stream,
    user: SEEDED.email,
    tools: TOOLS_OPENAI,
    messages: [
      {
        role: 'system',
        content: `You assist the finance team. Escalations go to ${SEEDED.directoryPerson}.`,
      },
      { role: 'user', content: SEEDED_TEXT },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_a',
            type: 'function',
            function: { name: 'lookup', arguments: JSON.stringify({ iban: SEEDED.iban, card: SEEDED.card }) },
          },
        ],
      },
      {
        role: 'tool',
        tool_call_id: 'call_a',
        content: `Owner: Mr. ${SEEDED.cuedPerson}, phone ${SEEDED.phone}, ip ${SEEDED.ip}`,
      },
      { role: 'user', content: [{ type: 'text', text: `Also ${SEEDED.ssn} and ${SEEDED.denied}.` }] },
    ],
  };
}

function anthropicRequest(stream: boolean): Record<string, unknown> {
  return {
    model: 'claude-test',
    max_tokens: 256,
    stream,
    metadata: { user_id: SEEDED.email },
    system: [{ type: 'text', text: `Escalations go to ${SEEDED.directoryPerson}.` }],
    tools: [
      {
        name: 'send_email',
        description: 'Send an email',
        input_schema: { type: 'object', properties: { recipients: { type: 'array' } } },
      },
    ],
    messages: [
      { role: 'user', content: SEEDED_TEXT },
      {
        role: 'assistant',
        content: [
          {
            type: 'tool_use',
            id: 'toolu_a',
            name: 'lookup',
            input: { iban: SEEDED.iban, card: SEEDED.card },
          },
        ],
      },
      {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            tool_use_id: 'toolu_a',
            content: [{ type: 'text', text: `Owner: Mr. ${SEEDED.cuedPerson}, ip ${SEEDED.ip}` }],
          },
          { type: 'text', text: `Also ${SEEDED.ssn} and ${SEEDED.denied}.` },
        ],
      },
    ],
  };
}

async function post(
  path: string,
  token: string | undefined,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

function expectNoSeededValue(text: string): void {
  for (const value of SEEDED_VALUES)
    expect({ value, leaked: text.includes(value) }).toEqual({ value, leaked: false });
}

function expectEverySeededValue(text: string): void {
  for (const value of SEEDED_VALUES)
    expect({ value, present: text.includes(value) }).toEqual({ value, present: true });
}

describe('mask mode, OpenAI chat completions', () => {
  it('sends no seeded value upstream in any field, and the client receives the originals (JSON)', async () => {
    const response = await post('/v1/chat/completions', finance, openaiRequest(false), {
      'x-orgmesh-session-id': 'sess-1',
    });
    expect(response.status).toBe(200);
    const upstream = h.upstream.last;
    expectNoSeededValue(upstream.body);
    expect(upstream.headers['authorization']).toBe('Bearer sk-upstream-openai-secret');
    expect(placeholdersIn(upstream.body).length).toBeGreaterThanOrEqual(SEEDED_VALUES.length);
    const completion = (await response.json()) as {
      choices: Array<{
        message: { content: string; tool_calls: Array<{ function: { arguments: string } }> };
      }>;
    };
    const message = completion.choices[0]!.message;
    expectEverySeededValue(message.content);
    expect(message.content).not.toMatch(/\[\[[A-Z]+_/);
    const args = JSON.parse(message.tool_calls[0]!.function.arguments) as {
      recipients: string[];
      note: string;
    };
    expectEverySeededValue(args.recipients.join('|'));
  });

  it('restores a streamed answer whose placeholders are split across events and tool-call argument deltas', async () => {
    const response = await post('/v1/chat/completions', finance, openaiRequest(true));
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = await sseData(response);
    expect(events[events.length - 1]).toBe('[DONE]');
    let content = '';
    let args = '';
    for (const data of events.slice(0, -1)) {
      const chunk = JSON.parse(data) as {
        choices: Array<{
          delta: { content?: string; tool_calls?: Array<{ function?: { arguments?: string } }> };
        }>;
      };
      for (const choice of chunk.choices) {
        content += choice.delta.content ?? '';
        for (const call of choice.delta.tool_calls ?? []) args += call.function?.arguments ?? '';
      }
    }
    expectNoSeededValue(h.upstream.last.body);
    expectEverySeededValue(content);
    expect(content).not.toMatch(/\[\[|_[0-9a-f]{8}/);
    expectEverySeededValue((JSON.parse(args) as { recipients: string[] }).recipients.join('|'));
  });

  it('gives the same answer streamed and not streamed, for every way of splitting it (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        async (max, seed) => {
          h.upstream.script({ split: (t) => pieces(t, max, seed) });
          const plain = (await (
            await post('/v1/chat/completions', finance, openaiRequest(false))
          ).json()) as {
            choices: Array<{
              message: { content: string; tool_calls: Array<{ function: { arguments: string } }> };
            }>;
          };
          const events = await sseData(await post('/v1/chat/completions', finance, openaiRequest(true)));
          let content = '';
          let args = '';
          for (const data of events.slice(0, -1)) {
            const chunk = JSON.parse(data) as {
              choices: Array<{
                delta: { content?: string; tool_calls?: Array<{ function?: { arguments?: string } }> };
              }>;
            };
            for (const choice of chunk.choices) {
              content += choice.delta.content ?? '';
              for (const call of choice.delta.tool_calls ?? []) args += call.function?.arguments ?? '';
            }
          }
          expect(content).toBe(plain.choices[0]!.message.content);
          expect(args).toBe(plain.choices[0]!.message.tool_calls[0]!.function.arguments);
        },
      ),
      { numRuns: 25 },
    );
    h.upstream.script({});
  });

  it('tolerates a model that changes case and drops brackets', async () => {
    h.upstream.script({
      answer: (request) => ({
        text: placeholdersIn(request.body)
          .map((p, i) => (i % 2 ? p.toLowerCase() : p.slice(2, -2)))
          .join(' / '),
      }),
    });
    const response = await post('/v1/chat/completions', finance, {
      model: 'm',
      messages: [{ role: 'user', content: `mail ${SEEDED.email}, call ${SEEDED.phone}` }],
    });
    const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
    expect(body.choices[0]!.message.content).toBe(`${SEEDED.email} / ${SEEDED.phone}`);
    h.upstream.script({});
  });
});

describe('mask mode, Anthropic messages', () => {
  it('masks system, messages, tool_use input and tool_result content; restores text and tool input (JSON)', async () => {
    const response = await post('/v1/messages', undefined, anthropicRequest(false), {
      'x-api-key': finance,
      'anthropic-version': '2023-06-01',
    });
    expect(response.status).toBe(200);
    expectNoSeededValue(h.upstream.last.body);
    expect(h.upstream.last.headers['x-api-key']).toBe('sk-ant-upstream-secret');
    const message = (await response.json()) as {
      content: Array<{ type: string; text?: string; input?: { recipients: string[] } }>;
    };
    expectEverySeededValue(message.content[0]!.text!);
    expectEverySeededValue(message.content[1]!.input!.recipients.join('|'));
  });

  it('restores text_delta and input_json_delta streams split anywhere', async () => {
    h.upstream.script({ split: (t) => pieces(t, 3, 11) });
    const response = await post('/v1/messages', finance, anthropicRequest(true));
    const events = (await sseData(response)).map(
      (d) =>
        JSON.parse(d) as { type: string; index?: number; delta?: { text?: string; partial_json?: string } },
    );
    const text = events
      .filter((e) => e.type === 'content_block_delta' && e.index === 0)
      .map((e) => e.delta!.text)
      .join('');
    const json = events
      .filter((e) => e.type === 'content_block_delta' && e.index === 1)
      .map((e) => e.delta!.partial_json)
      .join('');
    expectEverySeededValue(text);
    expectEverySeededValue((JSON.parse(json) as { recipients: string[] }).recipients.join('|'));
    expect(events[events.length - 1]!.type).toBe('message_stop');
    h.upstream.script({});
  });

  it('masks count_tokens requests too', async () => {
    const response = await post('/v1/messages/count_tokens', finance, {
      model: 'claude-test',
      messages: [{ role: 'user', content: SEEDED_TEXT }],
    });
    expect(response.status).toBe(200);
    expect(h.upstream.last.path).toBe('/v1/messages/count_tokens');
    expectNoSeededValue(h.upstream.last.body);
  });
});

describe('modes', () => {
  it('strict refuses with 422 naming the entity types, and nothing goes upstream', async () => {
    const before = h.upstream.requests.length;
    const response = await post('/v1/chat/completions', await h.token('legal'), {
      model: 'm',
      messages: [{ role: 'user', content: `SSN ${SEEDED.ssn}, mail ${SEEDED.email}` }],
    });
    expect(response.status).toBe(422);
    const body = (await response.json()) as {
      error: { code: string; message: string; entity_types: string[] };
    };
    expect(body.error.code).toBe('privacy_strict_refused');
    expect(body.error.entity_types).toEqual(['email', 'ssn']);
    expect(body.error.message).toContain('email, ssn');
    expect(JSON.stringify(body)).not.toContain(SEEDED.ssn);
    expect(h.upstream.requests.length).toBe(before);
  });

  it('a per-entity strict override refuses only when that type occurs', async () => {
    const analyst = await h.token('analyst');
    const refused = await post('/v1/messages', analyst, {
      model: 'm',
      max_tokens: 5,
      messages: [{ role: 'user', content: `SSN ${SEEDED.ssn}` }],
    });
    expect(refused.status).toBe(422);
    const passed = await post('/v1/messages', analyst, {
      model: 'm',
      max_tokens: 5,
      messages: [{ role: 'user', content: `mail ${SEEDED.email}` }],
    });
    expect(passed.status).toBe(200);
    expect(h.upstream.last.body).not.toContain(SEEDED.email);
  });

  it('detect passes the request unchanged and audits it', async () => {
    const manager = await h.token('manager', { sub: 'manager-agent-7' });
    const request = { model: 'm', messages: [{ role: 'user', content: SEEDED_TEXT }] };
    const response = await post('/v1/chat/completions', manager, request, {
      'x-orgmesh-session-id': 'sess-detect',
    });
    expect(response.status).toBe(200);
    expect(h.upstream.last.body).toBe(JSON.stringify(request));
    const event = h.audit.events.find((e) => e.sessionId === 'sess-detect');
    expect(event).toMatchObject({
      role: 'manager',
      agentId: 'manager-agent-7',
      mode: 'detect',
      outcome: 'detected',
      tenant: 'acme',
    });
    expect(event!.counts).toMatchObject({
      email: 1,
      phone: 1,
      ssn: 1,
      credit_card: 1,
      iban: 1,
      ip_address: 1,
    });
    expect(event!.maskedCounts).toEqual({});
  });

  it('off passes everything through untouched', async () => {
    const request = { model: 'm', messages: [{ role: 'user', content: SEEDED_TEXT }] };
    await post('/v1/chat/completions', await h.token('intern'), request);
    expect(h.upstream.last.body).toBe(JSON.stringify(request));
  });

  it('refuses roles without a profile', async () => {
    const response = await post('/v1/chat/completions', await h.token('stranger'), {
      model: 'm',
      messages: [],
    });
    expect(response.status).toBe(403);
  });
});

describe('audit and logs', () => {
  it('emits privacy.v1.redacted events that satisfy the contract and carry counts, never values', async () => {
    await post('/v1/chat/completions', finance, openaiRequest(false), {
      'x-orgmesh-session-id': 'sess-audit',
    });
    const event = h.audit.events.find((e) => e.sessionId === 'sess-audit');
    expect(event).toBeDefined();
    expect(PrivacyRedacted.schema.parse(event)).toEqual(event);
    expect(event).toMatchObject({
      role: 'finance',
      agentId: 'finance-agent',
      mode: 'mask',
      outcome: 'masked',
      endpoint: 'openai.chat.completions',
    });
    expect(event!.maskedCounts).toMatchObject({ email: 2, person: 4, ssn: 2, deny_list: 2 });
    expectNoSeededValue(JSON.stringify(h.audit.events));
  });

  it('never writes a seeded value, a body or a token to the logs', async () => {
    expect(h.logs.length).toBeGreaterThan(5);
    const all = h.logs.join('');
    expectNoSeededValue(all);
    expect(all).not.toContain(finance);
    expect(all).not.toContain('sk-upstream-openai-secret');
    expect(all).toContain('"msg":"request completed"');
  });
});

describe('official SDK clients', () => {
  it('openai: create, non-streaming and streaming, with tools', async () => {
    const client = new OpenAI({ apiKey: finance, baseURL: `${h.url}/v1` });
    const completion = await client.chat.completions.create({
      model: 'gpt-test',
      tools: TOOLS_OPENAI,
      messages: [{ role: 'user', content: `Write to ${SEEDED.email} about card ${SEEDED.card}` }],
    });
    expect(completion.choices[0]!.message.content).toBe(
      `I will contact ${SEEDED.email} and ${SEEDED.card} today.`,
    );
    const call = completion.choices[0]!.message.tool_calls![0]!;
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({
      recipients: [SEEDED.email, SEEDED.card],
      note: `cc ${SEEDED.email}`,
    });
    expectNoSeededValue(h.upstream.last.body);

    const stream = await client.chat.completions.create({
      model: 'gpt-test',
      stream: true,
      messages: [{ role: 'user', content: `Call ${SEEDED.phone}` }],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(`I will contact ${SEEDED.phone} today.`);
    const models = await client.models.list();
    expect(models.data[0]!.id).toBe('fake-model');
  });

  it('@anthropic-ai/sdk: messages.create and messages.stream with tool use, api key and auth token', async () => {
    const client = new Anthropic({ apiKey: finance, baseURL: h.url });
    const message = await client.messages.create({
      model: 'claude-test',
      max_tokens: 100,
      tools: [{ name: 'send_email', input_schema: { type: 'object', properties: {} } }],
      messages: [{ role: 'user', content: `Email ${SEEDED.email}, IBAN ${SEEDED.iban}` }],
    });
    const first = message.content[0]!;
    expect(first.type === 'text' && first.text).toBe(
      `I will contact ${SEEDED.email} and ${SEEDED.iban} today.`,
    );
    expect(message.content[1]).toMatchObject({
      type: 'tool_use',
      input: { recipients: [SEEDED.email, SEEDED.iban] },
    });
    expectNoSeededValue(h.upstream.last.body);

    // Claude Code sends its auth token as Bearer.
    const bearer = new Anthropic({ authToken: finance, apiKey: null, baseURL: h.url });
    const stream = bearer.messages.stream({
      model: 'claude-test',
      max_tokens: 100,
      tools: [{ name: 'send_email', input_schema: { type: 'object', properties: {} } }],
      messages: [{ role: 'user', content: `Dear Mr. ${SEEDED.cuedPerson}, your SSN ${SEEDED.ssn}` }],
    });
    let streamed = '';
    stream.on('text', (t) => {
      streamed += t;
    });
    const final = await stream.finalMessage();
    expect(streamed).toBe(`I will contact ${SEEDED.cuedPerson} and ${SEEDED.ssn} today.`);
    expect(final.content[1]).toMatchObject({
      type: 'tool_use',
      input: { recipients: [SEEDED.cuedPerson, SEEDED.ssn] },
    });
    expectNoSeededValue(h.upstream.last.body);
  });

  it('the SDKs surface a strict refusal as a 422 error', async () => {
    const client = new OpenAI({ apiKey: await h.token('legal'), baseURL: `${h.url}/v1`, maxRetries: 0 });
    await expect(
      client.chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: `SSN ${SEEDED.ssn}` }],
      }),
    ).rejects.toMatchObject({
      status: 422,
    });
  });
});

describe('upstream failures', () => {
  it('forwards provider errors with their status, restoring echoed placeholders', async () => {
    h.upstream.script({
      error: {
        status: 400,
        body: (r) => ({
          error: { message: `bad value ${placeholdersIn(r.body)[0]}`, type: 'invalid_request_error' },
        }),
      },
    });
    const response = await post('/v1/chat/completions', finance, {
      model: 'm',
      messages: [{ role: 'user', content: `mail ${SEEDED.email}` }],
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe(
      `bad value ${SEEDED.email}`,
    );
    h.upstream.script({});
  });

  it('answers 503 in the provider shape when the upstream is unreachable', async () => {
    const down = await startHarness();
    await down.upstream.close();
    const response = await fetch(`${down.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': await down.token('finance') },
      body: JSON.stringify({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(503);
    expect((await response.json()) as unknown).toMatchObject({
      type: 'error',
      error: { type: 'api_error', code: 'unavailable' },
    });
    await down.proxy.close();
  });

  it('ends a stream that breaks off without leaking a placeholder fragment', async () => {
    h.upstream.script({ split: (t) => pieces(t, 2, 3), breakAfterDeltas: 12 });
    const response = await post('/v1/chat/completions', finance, {
      model: 'm',
      stream: true,
      messages: [{ role: 'user', content: `Mail ${SEEDED.email}` }],
    });
    const text = await response.text().catch(() => '');
    expect(text).not.toMatch(/\[\[|EMAIL_|\[DONE\]/);
    let content = '';
    for (const line of text.split('\n')) {
      if (!line.startsWith('data: ')) continue;
      const chunk = JSON.parse(line.slice(6)) as { choices: Array<{ delta: { content?: string } }> };
      content += chunk.choices[0]?.delta.content ?? '';
    }
    expect(content.length).toBeGreaterThan(5);
    expect(`I will contact ${SEEDED.email} today.`.startsWith(content)).toBe(true);
    h.upstream.script({});
  });
});

describe('limits', () => {
  it('answers 413 to a body over the limit (chunked, no content-length)', async () => {
    const small = await startHarness();
    await small.proxy.close();
    const proxy = createPrivacyProxy({
      openai: { url: small.upstream.openaiUrl },
      verifier: JoseTokenVerifier.fromLocalJwks(small.issuer.jwks, {
        issuer: small.issuer.issuer,
        audience: small.issuer.audience,
      }),
      profiles: FileProfileSource.fromObject({ profiles: { finance: { mode: 'mask' } }, directory: [] }),
      hmacKey: 'limits-test-hmac-key-0123456789abcdef',
      audit: new RecordingAuditSink(),
      logger: createLogger({ service: 'privacy-proxy', level: 'silent' }),
      maxBodyBytes: 1024,
    });
    const url = await proxy.listen(0);
    const big = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(5000) }] });
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await small.token('finance')}`,
      },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(small.upstream.requests).toHaveLength(0);
    await proxy.close();
    await small.upstream.close();
  });
});

describe('authentication', () => {
  it('refuses requests without a token, with a forged token and with an expired one', async () => {
    expect((await post('/v1/chat/completions', undefined, { model: 'm', messages: [] })).status).toBe(401);
    expect(
      (await post('/v1/chat/completions', `${finance.slice(0, -4)}AAAA`, { model: 'm', messages: [] }))
        .status,
    ).toBe(401);
    const expired = await h.issuer.sign({ sub: 'x', role: 'finance' }, { expiresInSec: -60 });
    const response = await post('/v1/messages', expired, { model: 'm', messages: [] });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { type: string; error: { type: string } }).error.type).toBe(
      'authentication_error',
    );
  });
});

describe('utility API and operations', () => {
  it('POST /v1/privacy/scan returns types, offsets and scores, no values', async () => {
    const text = `mail ${SEEDED.email} now`;
    const response = await post('/v1/privacy/scan', finance, { text });
    const body = (await response.json()) as {
      entities: Array<{ type: string; start: number; end: number; score: number }>;
    };
    expect(body.entities).toEqual([{ type: 'email', start: 5, end: 5 + SEEDED.email.length, score: 0.99 }]);
    expect(JSON.stringify(body)).not.toContain(SEEDED.email);
  });

  it('POST /v1/privacy/mask needs the mask scope', async () => {
    expect((await post('/v1/privacy/mask', finance, { text: SEEDED_TEXT })).status).toBe(403);
    const allowed = await h.token('finance', { scope: 'orgmesh:agent orgmesh:privacy-mask' });
    const response = await post('/v1/privacy/mask', allowed, { text: SEEDED_TEXT });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { text: string };
    expectNoSeededValue(body.text);
  });

  it('serves health, readiness and metrics with redactions by entity type', async () => {
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(
      /\norgmesh_privacy_proxy_redactions_total\{entity_type="email",action="mask",service="privacy-proxy"\} \d+/,
    );
    expect(metrics).toContain('\norgmesh_privacy_proxy_request_duration_seconds_bucket');
    expect(metrics).toMatch(
      /\norgmesh_privacy_proxy_refusals_total\{route="openai.chat.completions",service="privacy-proxy"\} [1-9]/,
    );
  });
});
