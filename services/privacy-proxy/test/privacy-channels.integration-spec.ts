import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { PrivacyRedacted } from '@orgmesh/contracts';
import { startTracing, type Tracing } from '@orgmesh/telemetry';
import { FileProfileSource } from '../src/profiles/profile-source.js';
import type { RecordedRequest } from './fake-upstream.js';
import { PROFILES, SEEDED, startHarness, type Harness } from './proxy-harness.js';

/**
 * One test per channel of issue 19, through the official SDKs to the recording fake, for a masking
 * role (finance: nothing personal may arrive) and a strict role (legal: nothing may arrive at all).
 */
const EMAIL = SEEDED.email;
const SSN = SEEDED.ssn;
const SENTENCE = `Please write to ${EMAIL}, SSN ${SSN}.`;
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
/** A real PNG header and a few bytes: binary the proxy cannot read. */
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex').toString(
  'base64',
);
/** A real WAV header: audio the proxy cannot read. */
const WAV = Buffer.concat([
  Buffer.from('RIFF'),
  Buffer.from([0x24, 0, 0, 0]),
  Buffer.from('WAVEfmt '),
  Buffer.from([
    16, 0, 0, 0, 1, 0, 1, 0, 0x44, 0xac, 0, 0, 0x88, 0x58, 1, 0, 2, 0, 16, 0, 0xff, 0xfe, 0x80, 0x81,
  ]),
]).toString('base64');

let h: Harness;
let tracing: Tracing;
const spans = new InMemorySpanExporter();

beforeAll(async () => {
  // As main.ts does: with the SDK registered, the proxy continues the caller's trace (and a propagator
  // would add trace headers to the upstream call, which the allow-list must drop).
  tracing = startTracing({ service: 'privacy-proxy-channels-test', exporter: spans });
  h = await startHarness(
    {},
    {
      profiles: FileProfileSource.fromObject({
        ...PROFILES,
        profiles: {
          ...PROFILES.profiles,
          // A masking role that refuses what it cannot read, and fields the proxy does not know.
          auditor: { mode: 'mask', binary: 'refuse', unknownFields: 'refuse' },
        },
      }),
    },
  );
});

afterAll(async () => {
  await h.close();
  await tracing.shutdown();
});

/**
 * Everything the provider could read in a recorded request: the raw body and query, every header,
 * and every string of the body decoded as a URL component and as base64 (data URLs included).
 */
function readable(request: RecordedRequest): string {
  const out = [request.body, request.query, decode(request.query), JSON.stringify(request.headers)];
  const visit = (value: unknown): void => {
    if (typeof value === 'string') {
      out.push(decode(value));
      const payload = value.startsWith('data:') ? value.slice(value.indexOf(',') + 1) : value;
      if (/^[A-Za-z0-9+/=\s]{8,}$/.test(payload)) out.push(Buffer.from(payload, 'base64').toString('utf8'));
    } else if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') Object.values(value).forEach(visit);
  };
  visit(request.json);
  return out.join('\n');
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

function openai(token: string): OpenAI {
  return new OpenAI({ apiKey: token, baseURL: `${h.url}/v1`, maxRetries: 0 });
}

function anthropic(token: string): Anthropic {
  return new Anthropic({ apiKey: token, baseURL: h.url, maxRetries: 0 });
}

type Send = (token: string) => Promise<unknown>;

const userParts = (parts: unknown[]) => [{ role: 'user', content: parts }] as never;

/** Channels carrying personal data: masked for finance, refused for legal. */
const CHANNELS: ReadonlyArray<readonly [string, Send]> = [
  [
    'OpenAI text content part',
    (t) =>
      openai(t).chat.completions.create({
        model: 'm',
        messages: userParts([{ type: 'text', text: SENTENCE }]),
      }),
  ],
  [
    'OpenAI image_url https URL (path and query)',
    (t) =>
      openai(t).chat.completions.create({
        model: 'm',
        messages: userParts([
          { type: 'text', text: 'look' },
          {
            type: 'image_url',
            image_url: { url: `https://img.example.com/people/${EMAIL}/a.png?email=${EMAIL}&x=1` },
          },
        ]),
      }),
  ],
  [
    'OpenAI image_url data URL holding text',
    (t) =>
      openai(t).chat.completions.create({
        model: 'm',
        messages: userParts([
          { type: 'image_url', image_url: { url: `data:text/plain;base64,${b64(SENTENCE)}` } },
        ]),
      }),
  ],
  [
    'OpenAI file.file_data (JSON data URL) and filename',
    (t) =>
      openai(t).chat.completions.create({
        model: 'm',
        messages: userParts([
          {
            type: 'file',
            file: {
              filename: `${EMAIL}.json`,
              file_data: `data:application/json;base64,${b64(JSON.stringify({ contact: EMAIL }))}`,
            },
          },
        ]),
      }),
  ],
  [
    'OpenAI input_audio.data holding text',
    (t) =>
      openai(t).chat.completions.create({
        model: 'm',
        messages: userParts([{ type: 'input_audio', input_audio: { data: b64(SENTENCE), format: 'wav' } }]),
      }),
  ],
  [
    'OpenAI tool-call arguments and tool result',
    (t) =>
      openai(t).chat.completions.create({
        model: 'm',
        messages: [
          { role: 'user', content: 'go' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'c1',
                type: 'function',
                function: { name: 'f', arguments: JSON.stringify({ to: EMAIL }) },
              },
            ],
          },
          { role: 'tool', tool_call_id: 'c1', content: SENTENCE },
        ],
      }),
  ],
  [
    'OpenAI request query string',
    (t) =>
      openai(t).chat.completions.create(
        { model: 'm', messages: [{ role: 'user', content: 'hello' }] },
        { query: { note: `ssn-${SSN}`, mail: EMAIL } },
      ),
  ],
  [
    'OpenAI field the channel table does not know',
    (t) =>
      openai(t).chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: 'hello' }],
        // Sent by a newer client or a curious agent: never forwarded blind.
        ...({ x_note: { who: EMAIL } } as object),
      }),
  ],
  [
    'Anthropic text document',
    (t) =>
      anthropic(t).messages.create({
        model: 'm',
        max_tokens: 10,
        messages: userParts([
          {
            type: 'document',
            title: 'memo',
            source: { type: 'text', media_type: 'text/plain', data: SENTENCE },
          },
        ]),
      }),
  ],
  [
    'Anthropic text document inside tool_result',
    (t) =>
      anthropic(t).messages.create({
        model: 'm',
        max_tokens: 10,
        messages: [
          { role: 'user', content: 'go' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'fetch', input: {} }] },
          {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                tool_use_id: 'toolu_1',
                content: [
                  { type: 'document', source: { type: 'text', media_type: 'text/plain', data: SENTENCE } },
                ] as never,
              },
            ],
          },
        ],
      }),
  ],
  [
    'Anthropic base64 text document',
    (t) =>
      anthropic(t).messages.create({
        model: 'm',
        max_tokens: 10,
        messages: userParts([
          { type: 'document', source: { type: 'base64', media_type: 'text/plain', data: b64(SENTENCE) } },
        ]),
      }),
  ],
  [
    'Anthropic content document',
    (t) =>
      anthropic(t).messages.create({
        model: 'm',
        max_tokens: 10,
        messages: userParts([
          { type: 'document', source: { type: 'content', content: [{ type: 'text', text: SENTENCE }] } },
        ]),
      }),
  ],
  [
    'Anthropic image and document URLs',
    (t) =>
      anthropic(t).messages.create({
        model: 'm',
        max_tokens: 10,
        messages: userParts([
          { type: 'image', source: { type: 'url', url: `https://img.example.com/a.png?email=${EMAIL}` } },
          { type: 'document', source: { type: 'url', url: `https://docs.example.com/${EMAIL}/cv.pdf` } },
        ]),
      }),
  ],
  [
    'Anthropic system prompt and tool description',
    (t) =>
      anthropic(t).messages.create({
        model: 'm',
        max_tokens: 10,
        system: `Escalate to ${EMAIL}.`,
        tools: [{ name: 'send', description: `Sends mail as ${EMAIL}`, input_schema: { type: 'object' } }],
        messages: [{ role: 'user', content: 'hello' }],
      }),
  ],
  [
    'Anthropic tool_use input keys and values',
    (t) =>
      anthropic(t).messages.create({
        model: 'm',
        max_tokens: 10,
        messages: [
          { role: 'user', content: 'go' },
          {
            role: 'assistant',
            content: [
              { type: 'tool_use', id: 'toolu_1', name: 'f', input: { [EMAIL]: { ssn: `SSN ${SSN}` } } },
            ],
          },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'done' }] },
        ],
      }),
  ],
];

describe('every channel, masking role (finance): nothing personal reaches the provider', () => {
  it.each(CHANNELS)('%s', async (_name, send) => {
    const before = h.upstream.requests.length;
    await send(await h.token('finance'));
    expect(h.upstream.requests.length).toBe(before + 1);
    const seen = readable(h.upstream.last);
    expect({ email: seen.includes(EMAIL), ssn: seen.includes(SSN) }).toEqual({ email: false, ssn: false });
  });
});

describe('raw bytes', () => {
  it('forwards the document it scanned, so a duplicate key cannot carry a value out unscanned', async () => {
    for (const role of ['finance', 'legal', 'manager']) {
      // JSON.parse keeps the last `content`; the first one must not ride along in the raw bytes.
      const body = `{"model":"m","messages":[{"role":"user","content":"Write to ${EMAIL}","content":"hi"}]}`;
      const response = await fetch(`${h.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await h.token(role)}`, 'content-type': 'application/json' },
        body,
      });
      expect(response.status).toBe(200);
      expect(readable(h.upstream.last)).not.toContain(EMAIL);
    }
  });
});

describe('streaming', () => {
  it('masks a text document and a query string on the way out and restores the streamed answer', async () => {
    const client = new Anthropic({ apiKey: await h.token('finance'), baseURL: h.url, maxRetries: 0 });
    const stream = client.messages.stream(
      {
        model: 'm',
        max_tokens: 50,
        messages: userParts([
          { type: 'document', source: { type: 'text', media_type: 'text/plain', data: SENTENCE } },
          { type: 'text', text: 'Summarise.' },
        ]),
      },
      { query: { who: EMAIL } },
    );
    let text = '';
    stream.on('text', (t) => (text += t));
    await stream.finalMessage();
    const seen = readable(h.upstream.last);
    expect({ email: seen.includes(EMAIL), ssn: seen.includes(SSN) }).toEqual({ email: false, ssn: false });
    // The fake repeats every placeholder it got; the client reads the originals again.
    expect(text).toContain(EMAIL);
    expect(text).toContain(SSN);
  });
});

describe('every channel, strict role (legal): refused, nothing forwarded', () => {
  it.each(CHANNELS)('%s', async (_name, send) => {
    const before = h.upstream.requests.length;
    await expect(send(await h.token('legal'))).rejects.toMatchObject({ status: 422 });
    expect(h.upstream.requests.length).toBe(before);
  });
});

describe('binary content the proxy cannot read', () => {
  const sendImage = (t: string) =>
    anthropic(t)
      .messages.create({
        model: 'm',
        max_tokens: 10,
        messages: userParts([
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
        ]),
      })
      .withResponse();
  const sendAudio = (t: string) =>
    openai(t)
      .chat.completions.create({
        model: 'm',
        messages: userParts([{ type: 'input_audio', input_audio: { data: WAV, format: 'wav' } }]),
      })
      .withResponse();

  it('is forwarded unscanned for a masking role, and says so in a header and the audit', async () => {
    const session = 'sess-unscanned';
    const client = new Anthropic({
      apiKey: await h.token('finance'),
      baseURL: h.url,
      maxRetries: 0,
      defaultHeaders: { 'x-orgmesh-session-id': session },
    });
    const { response } = await client.messages
      .create({
        model: 'm',
        max_tokens: 10,
        messages: userParts([
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
        ]),
      })
      .withResponse();
    expect(response.headers.get('orgmesh-privacy-unscanned')).toBe('image/png');
    expect(h.upstream.last.body).toContain(PNG);
    const event = h.audit.events.find((e) => e.sessionId === session);
    expect(event).toMatchObject({ outcome: 'unscanned', unscanned: { 'image/png': 1 } });
    expect(PrivacyRedacted.schema.parse(event)).toEqual(event);
    const audio = await sendAudio(await h.token('finance'));
    expect(audio.response.headers.get('orgmesh-privacy-unscanned')).toBe('audio/wav');
  });

  it.each([
    ['legal (strict: refuse by default)', 'legal'],
    ['auditor (mask, binary: refuse)', 'auditor'],
  ])('is refused for %s, naming the media type', async (_name, role) => {
    const before = h.upstream.requests.length;
    const token = await h.token(role);
    for (const [send, media] of [
      [sendImage, 'image/png'],
      [sendAudio, 'audio/wav'],
    ] as const) {
      const error = (await send(token).catch((e: unknown) => e)) as { status?: number; error?: unknown };
      expect(error.status).toBe(422);
      expect(JSON.stringify(error.error)).toContain('binary_content');
      expect(JSON.stringify(error.error)).toContain(media);
    }
    expect(h.upstream.requests.length).toBe(before);
  });
});

describe('numbers', () => {
  it('refuses a number holding personal data in caller data (it cannot carry a placeholder), for a masking role too', async () => {
    const before = h.upstream.requests.length;
    const client = anthropic(await h.token('finance'));
    const error = (await client.messages
      .create({
        model: 'm',
        max_tokens: 5,
        messages: [
          { role: 'user', content: 'go' },
          {
            role: 'assistant',
            content: [{ type: 'tool_use', id: 'toolu_1', name: 'pay', input: { card: 4111111111111111 } }],
          },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok' }] },
        ],
      })
      .catch((e: unknown) => e)) as { status?: number; error?: unknown };
    expect(error.status).toBe(422);
    expect(JSON.stringify(error.error)).toContain('unmaskable_value');
    expect(h.upstream.requests.length).toBe(before);
  });
});

describe('unknown fields under unknownFields: scan (the default)', () => {
  /** Values the proxy cannot scan or mask, in fields the channel table does not know. */
  const UNSCANNABLE: ReadonlyArray<readonly [string, object]> = [
    ['a number', { x_ref: 512447391 }],
    ['a boolean', { x_flag: true }],
    ['null', { x_note: null }],
    ['a number deep in an unknown object', { x_meta: { who: 'plain', n: [1, 2] } }],
  ];

  it.each(UNSCANNABLE)('refuses %s through the OpenAI SDK, nothing forwarded', async (_what, extra) => {
    const before = h.upstream.requests.length;
    const error = (await openai(await h.token('finance'))
      .chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra })
      .catch((e: unknown) => e)) as { status?: number; error?: unknown };
    expect(error.status).toBe(422);
    expect(JSON.stringify(error.error)).toContain('unknown_fields');
    expect(h.upstream.requests.length).toBe(before);
  });

  it.each(UNSCANNABLE)(
    'refuses %s through the Anthropic SDK, in a content block too',
    async (_what, extra) => {
      const before = h.upstream.requests.length;
      const client = anthropic(await h.token('finance'));
      for (const body of [
        { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }], ...extra },
        { model: 'm', max_tokens: 5, messages: userParts([{ type: 'text', text: 'hi', ...extra }]) },
      ]) {
        const error = (await client.messages.create(body as never).catch((e: unknown) => e)) as {
          status?: number;
          error?: unknown;
        };
        expect(error.status).toBe(422);
        expect(JSON.stringify(error.error)).toContain('unknown_fields');
      }
      expect(h.upstream.requests.length).toBe(before);
    },
  );

  it('forwards unknown text masked, and known numbers, booleans and nulls as they are', async () => {
    await openai(await h.token('finance')).chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0.2,
      store: false,
      seed: null,
      ...({ x_note: `ask ${EMAIL}` } as object),
    });
    const body = JSON.parse(h.upstream.last.body) as Record<string, unknown>;
    expect(body['x_note']).toMatch(/^ask \[\[EMAIL_[0-9a-f]{8}\]\]$/);
    expect(body).toMatchObject({ temperature: 0.2, store: false, seed: null });
    await anthropic(await h.token('finance')).messages.create({
      model: 'm',
      max_tokens: 5,
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral' } }] },
      ],
      tools: [
        {
          name: 'lookup',
          input_schema: {
            type: 'object',
            properties: { n: { type: 'integer', minimum: 0 } },
            additionalProperties: false,
          },
        },
      ],
    });
    expect(JSON.parse(h.upstream.last.body)).toMatchObject({
      max_tokens: 5,
      tools: [{ input_schema: { properties: { n: { minimum: 0 } }, additionalProperties: false } }],
    });
  });
});

describe('unknown fields under unknownFields: refuse', () => {
  it('refuses a request with a field the table does not know, even without personal data', async () => {
    const before = h.upstream.requests.length;
    const client = openai(await h.token('auditor'));
    await expect(
      client.chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: 'hi' }],
        ...({ x_note: 'plain' } as object),
      }),
    ).rejects.toMatchObject({ status: 422 });
    expect(h.upstream.requests.length).toBe(before);
    await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect(h.upstream.requests.length).toBe(before + 1);
  });
});

describe('headers', () => {
  const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';

  it('forwards only the allow-list: no trace header (traceparent included), SDK telemetry or caller token reaches the provider', async () => {
    const finance = await h.token('finance');
    const client = new OpenAI({
      apiKey: finance,
      baseURL: `${h.url}/v1`,
      maxRetries: 0,
      defaultHeaders: {
        traceparent: `00-${TRACE_ID}-b7ad6b7169203331-01`,
        tracestate: `ssn=${SSN}`,
        baggage: `email=${encodeURIComponent(EMAIL)}`,
        b3: `${TRACE_ID}-b7ad6b7169203331-1`,
        'x-b3-traceid': TRACE_ID,
        'sentry-trace': `${TRACE_ID}-b7ad6b7169203331-1`,
        'x-cloud-trace-context': `${TRACE_ID}/1;o=1`,
        'uber-trace-id': `${TRACE_ID}:b7ad6b7169203331:0:1`,
        'x-orgmesh-session-id': 'sess-headers',
        cookie: `who=${EMAIL}`,
      },
    });
    spans.reset();
    await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hello' }] });
    const headers = h.upstream.last.headers;
    // No trace header of any format reaches the provider: orgmesh's trace id would link every model
    // call of one workflow there, and tracestate and baggage can carry anything.
    for (const name of Object.keys(headers))
      expect([name, /trace|b3|baggage/i.test(name)]).toEqual([name, false]);
    expect(JSON.stringify(headers)).not.toContain(TRACE_ID);
    // The proxy's own span of the upstream call stays in the caller's trace.
    await tracing.forceFlush();
    const upstreamCall = spans
      .getFinishedSpans()
      .find(
        (span) => span.kind === SpanKind.CLIENT && span.attributes['orgmesh.upstream.provider'] === 'openai',
      );
    expect(upstreamCall?.spanContext().traceId).toBe(TRACE_ID);
    expect(headers['cookie']).toBeUndefined();
    expect(Object.keys(headers).filter((k) => k.startsWith('x-stainless'))).toEqual([]);
    expect(headers['authorization']).toBe('Bearer sk-upstream-openai-secret');
    const all = JSON.stringify(headers);
    for (const value of [SSN, EMAIL, encodeURIComponent(EMAIL), finance]) expect(all).not.toContain(value);

    const anthropicClient = new Anthropic({
      apiKey: finance,
      baseURL: h.url,
      maxRetries: 0,
      defaultHeaders: { tracestate: `ssn=${SSN}`, 'anthropic-beta': `ssn-${SSN},prompt-caching-2024-07-31` },
    });
    await anthropicClient.messages.create({
      model: 'm',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const forwarded = h.upstream.last.headers;
    expect(forwarded['tracestate']).toBeUndefined();
    expect(forwarded['anthropic-beta']).toBe('prompt-caching-2024-07-31');
    expect(JSON.stringify(forwarded)).not.toContain(SSN);
  });
});

describe('model list', () => {
  it('forwards only the paging parameters of GET /v1/models', async () => {
    const response = await fetch(`${h.url}/v1/models?limit=5&note=${encodeURIComponent(EMAIL)}`, {
      headers: { authorization: `Bearer ${await h.token('finance')}` },
    });
    expect(response.status).toBe(200);
    expect(h.upstream.last.path).toBe('/v1/models');
    expect(h.upstream.last.query).toBe('?limit=5');
  });
});

describe('request ids', () => {
  it('keeps an id-shaped x-request-id and replaces free text, which would otherwise be logged', async () => {
    const finance = await h.token('finance');
    const send = (id: string) =>
      fetch(`${h.url}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${finance}`,
          'content-type': 'application/json',
          'x-request-id': id,
        },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
      });
    expect((await send('req-42.a')).headers.get('x-request-id')).toBe('req-42.a');
    const replaced = (await send(`for ${EMAIL}`)).headers.get('x-request-id');
    expect(replaced).not.toContain(EMAIL);
    expect(h.logs.join('')).not.toContain(EMAIL);
  });

  it('keeps free text out of the audit event when it is sent as a session id', async () => {
    const before = h.audit.events.length;
    await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await h.token('finance')}`,
        'content-type': 'application/json',
        'x-orgmesh-session-id': `session of ${EMAIL}`,
      },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: SENTENCE }] }),
    });
    const events = h.audit.events.slice(before);
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events)).not.toContain(EMAIL);
  });
});

describe('honest reporting', () => {
  it('detect: the audit says what went out raw, and a header lists the entity types, never values', async () => {
    const session = 'sess-honest-detect';
    const client = new OpenAI({
      apiKey: await h.token('manager'),
      baseURL: `${h.url}/v1`,
      maxRetries: 0,
      defaultHeaders: { 'x-orgmesh-session-id': session },
    });
    const { response } = await client.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: SENTENCE }] })
      .withResponse();
    const passed = response.headers.get('orgmesh-privacy-passed');
    expect(passed?.split(',')).toEqual(expect.arrayContaining(['email', 'ssn']));
    expect(passed).not.toContain('@');
    const event = h.audit.events.find((e) => e.sessionId === session)!;
    expect(event.outcome).toBe('detected');
    expect(event.maskedCounts).toEqual({});
    expect(event.passedCounts).toMatchObject({ email: 1, ssn: 1 });
    expect(PrivacyRedacted.schema.parse(event)).toEqual(event);
  });

  it('mask with a per-entity detect override: partially masked, and the header names only what passed', async () => {
    const session = 'sess-honest-partial';
    const profiles = FileProfileSource.fromObject({
      profiles: { finance: { mode: 'mask', entities: { ssn: 'detect' } } },
      directory: [],
    });
    const own = await startHarness({}, { profiles });
    try {
      const client = new OpenAI({
        apiKey: await own.token('finance'),
        baseURL: `${own.url}/v1`,
        maxRetries: 0,
        defaultHeaders: { 'x-orgmesh-session-id': session },
      });
      const { response } = await client.chat.completions
        .create({ model: 'm', messages: [{ role: 'user', content: SENTENCE }] })
        .withResponse();
      expect(response.headers.get('orgmesh-privacy-passed')).toBe('ssn');
      expect(own.upstream.last.body).toContain(SSN);
      expect(own.upstream.last.body).not.toContain(EMAIL);
      const event = own.audit.events.find((e) => e.sessionId === session)!;
      expect(event).toMatchObject({
        outcome: 'partially_masked',
        maskedCounts: { email: 1 },
        passedCounts: { ssn: 1 },
      });
    } finally {
      await own.close();
    }
  });

  it('mask: no passed header when everything was masked; strict: the refusal is audited per type', async () => {
    const client = openai(await h.token('finance'));
    const { response } = await client.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: SENTENCE }] })
      .withResponse();
    expect(response.headers.get('orgmesh-privacy-passed')).toBeNull();
    const legal = new OpenAI({
      apiKey: await h.token('legal'),
      baseURL: `${h.url}/v1`,
      maxRetries: 0,
      defaultHeaders: { 'x-orgmesh-session-id': 'sess-honest-strict' },
    });
    await expect(
      legal.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: SENTENCE }] }),
    ).rejects.toMatchObject({ status: 422 });
    const event = h.audit.events.find((e) => e.sessionId === 'sess-honest-strict')!;
    expect(event).toMatchObject({
      outcome: 'refused',
      refusal: 'entities',
      refusedCounts: { email: 1, ssn: 1 },
    });
  });
});
