import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { deepJsonText, fuzzEdge, hostileString } from '@orgmesh/testing';
import type { RecordedRequest } from './fake-upstream.js';
import { startHarness, type Harness } from './proxy-harness.js';

/**
 * Issue 17 for the proxy, and the privacy property of issue 19: hostile bodies on both APIs and the
 * mask utility never get a 5xx, never hang, and are answered in the provider's own error shape; a
 * personal value planted anywhere in a random request shape never reaches the recording fake
 * unmasked (finance: mask), and a strict role (legal) forwards nothing that holds it.
 */
let h: Harness;
let finance: string;
let legal: string;
let masker: string;

beforeAll(async () => {
  h = await startHarness();
  finance = await h.token('finance');
  legal = await h.token('legal');
  masker = await h.token('finance', { scope: 'orgmesh:privacy-mask' });
});

afterAll(async () => {
  await h.close();
});

const ENDPOINTS = ['/v1/chat/completions', '/v1/messages', '/v1/privacy/mask'] as const;
type Endpoint = (typeof ENDPOINTS)[number];
/** A case must be answered within this; a hang fails the property instead of the suite timing out. */
const ANSWER_WITHIN_MS = 10_000;

/** Keys of both APIs (so random shapes reach deep into the channel table) and some it does not know. */
const KEYS = [
  'model',
  'messages',
  'role',
  'content',
  'type',
  'text',
  'system',
  'tools',
  'tool_calls',
  'function',
  'arguments',
  'input',
  'tool_result',
  'tool_use_id',
  'source',
  'data',
  'media_type',
  'url',
  'image_url',
  'input_audio',
  'file',
  'file_data',
  'filename',
  'document',
  'title',
  'context',
  'citations',
  'metadata',
  'user',
  'stop',
  'thinking',
  'parameters',
  'input_schema',
  'description',
  'format',
  'max_tokens',
  'stream',
  'x_note',
  'extra',
  '__proto__',
  'constructor',
];
/** Keys whose values the proxy forwards raw by decision (identifiers, provider tokens): not planted. */
const RAW_KEYS = new Set(['model', 'id', 'name', 'tool_call_id', 'tool_use_id', 'file_id', 'signature']);
const TYPES = [
  'text',
  'image',
  'image_url',
  'document',
  'tool_use',
  'tool_result',
  'base64',
  'url',
  'content',
  'file',
  'input_audio',
  'thinking',
  'mystery',
];

const key = fc.oneof(
  fc.constantFrom(...KEYS),
  hostileString.filter((k) => k.length < 40),
);
const scalar = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(...TYPES),
);

/** Random JSON shapes made of the APIs' keys, unknown keys, discriminators and hostile strings. */
const shape = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc
      .tuple(
        fc.option(fc.constantFrom(...TYPES), { nil: undefined }),
        fc.dictionary(key, tie('value'), { maxKeys: 5 }),
      )
      .map(([type, obj]) => (type === undefined ? obj : { ...obj, type })),
  ),
})).value;

const EMAIL = 'rosalind.okafor@example.net';
/** The planted value in the forms a provider could read it in. */
const PLANTED = fc.constantFrom(
  EMAIL,
  `Please write to ${EMAIL} today.`,
  `https://files.example.com/u/${EMAIL}/cv.pdf?owner=${EMAIL}`,
  `data:text/plain;base64,${Buffer.from(`Contact: ${EMAIL}`).toString('base64')}`,
  Buffer.from(`Mail to ${EMAIL} now`).toString('base64'),
  // Content the proxy cannot scan: a masking role may forward it (it holds no EMAIL), a strict one not.
  `data:image/png;base64,${Buffer.from('89504e470d0a1a0a0000000d4948445200', 'hex').toString('base64')}`,
);

/** Puts `value` at a random place of `doc` (as a value, an array element, or a key), never in a raw field. */
function plant(doc: unknown, value: string, path: readonly number[]): unknown {
  let node: unknown = doc;
  for (const step of path) {
    if (Array.isArray(node) && node.length > 0) {
      const next = node[step % node.length];
      if (next === null || typeof next !== 'object') break;
      node = next;
    } else if (node && typeof node === 'object' && !Array.isArray(node)) {
      const keys = Object.keys(node).filter((k) => !RAW_KEYS.has(k));
      const next = keys.length ? (node as Record<string, unknown>)[keys[step % keys.length]!] : undefined;
      if (next === null || typeof next !== 'object') break;
      node = next;
    } else break;
  }
  const where = path.length ? path[path.length - 1]! % 3 : 0;
  if (Array.isArray(node)) node.push(value);
  else if (node && typeof node === 'object') {
    if (where === 0)
      Object.defineProperty(node, value, { value: 1, enumerable: true, writable: true, configurable: true });
    else
      Object.defineProperty(node, where === 1 ? 'x_planted' : 'text', {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return doc;
}

const plantedRequest = fc
  .tuple(
    fc.constantFrom('/v1/chat/completions', '/v1/messages'),
    fc.dictionary(key, shape, { maxKeys: 5 }),
    PLANTED,
    fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
    fc.boolean(),
  )
  .map(([endpoint, random, value, path, duplicate]) => {
    // Marks this case's request, so a request still in flight from an earlier case (a time-boxed run
    // stops mid-case) is not taken for this one. In `model`, an identifier the proxy never rewrites.
    const marker = `case-${randomUUID()}`;
    const base = {
      max_tokens: 16,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
      ...random,
      model: marker,
    };
    const planted = JSON.stringify(plant(base, value, path));
    // Or as the first of two `messages` keys: a parser keeps the last, the raw bytes hold both.
    const body = duplicate ? `{"messages":${JSON.stringify([value])},${planted.slice(1)}` : planted;
    return { endpoint, body, value, marker };
  });

/** Hostile bodies: random shapes, deep nesting, garbage bytes, wrong content types. */
const hostileRequest = fc.record({
  endpoint: fc.constantFrom<Endpoint>(...ENDPOINTS),
  contentType: fc.constantFrom(
    'application/json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/octet-stream',
    '',
  ),
  body: fc.oneof(
    shape.map((v) => JSON.stringify(v) ?? 'null'),
    fc.dictionary(key, shape, { maxKeys: 6 }).map((v) => JSON.stringify({ model: 'm', messages: [], ...v })),
    fc.constantFrom(
      deepJsonText(3000),
      deepJsonText(3000, 'array'),
      `{"messages":${deepJsonText(3000, 'array')}}`,
      `{"text":${deepJsonText(3000)}}`,
    ),
    fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
    hostileString,
  ),
});

function readable(request: RecordedRequest): string {
  const out = [request.body, request.query, JSON.stringify(request.headers)];
  const visit = (value: unknown, key?: string): void => {
    if (key !== undefined) out.push(key);
    if (typeof value === 'string') {
      try {
        out.push(decodeURIComponent(value));
      } catch {
        out.push(value);
      }
      const payload = value.startsWith('data:') ? value.slice(value.indexOf(',') + 1) : value;
      if (/^[A-Za-z0-9+/=\s]{8,}$/.test(payload)) out.push(Buffer.from(payload, 'base64').toString('utf8'));
    } else if (Array.isArray(value)) value.forEach((v) => visit(v));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, k);
  };
  visit(request.json);
  return out.join('\n');
}

async function send(
  endpoint: string,
  token: string,
  body: string | Buffer,
  contentType = 'application/json',
) {
  const response = await fetch(`${h.url}${endpoint}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...(contentType ? { 'content-type': contentType } : {}) },
    body,
    signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
  });
  const text = await response.text();
  return { status: response.status, text };
}

/** The error body in the shape the route's clients parse. */
function expectErrorShape(endpoint: Endpoint, text: string): void {
  const body = JSON.parse(text) as Record<string, any>;
  if (endpoint === '/v1/chat/completions') {
    expect(typeof body['error']?.message).toBe('string');
    expect(typeof body['error']?.code).toBe('string');
  } else if (endpoint === '/v1/messages') {
    expect(body['type']).toBe('error');
    expect(typeof body['error']?.type).toBe('string');
    expect(typeof body['error']?.message).toBe('string');
  } else {
    expect(typeof body['code']).toBe('string');
  }
}

describe('privacy proxy fuzz', () => {
  it('answers hostile bodies on both APIs and the mask utility without 5xx or hangs, in the provider error shape', async () => {
    await fuzzEdge(
      'privacy-proxy POST hostile bodies',
      hostileRequest,
      async ({ endpoint, contentType, body }) => {
        const token = endpoint === '/v1/privacy/mask' ? masker : finance;
        const { status, text } = await send(endpoint, token, body, contentType);
        expect(status).toBeLessThan(500);
        if (status >= 400) expectErrorShape(endpoint, text);
      },
      { ciRuns: 200 },
    );
  }, 120_000);

  it('never lets a planted personal value reach the provider unmasked (masking role)', async () => {
    await fuzzEdge(
      'privacy-proxy planted value, mask role',
      plantedRequest,
      async ({ endpoint, body, marker }) => {
        const before = h.upstream.requests.length;
        const { status } = await send(endpoint, finance, body);
        expect(status).toBeLessThan(500);
        const arrived = h.upstream.requests.slice(before);
        if (status === 200) expect(arrived.some((r) => r.body.includes(marker))).toBe(true);
        for (const request of arrived) expect(readable(request)).not.toContain(EMAIL);
      },
      { ciRuns: 200 },
    );
  }, 120_000);

  it('forwards nothing that holds a planted personal value or unscannable content for a strict role', async () => {
    await fuzzEdge(
      'privacy-proxy planted value, strict role',
      plantedRequest,
      async ({ endpoint, body, marker }) => {
        const before = h.upstream.requests.length;
        const { status, text } = await send(endpoint, legal, body);
        expect(status).toBeGreaterThanOrEqual(400);
        expect(status).toBeLessThan(500);
        expectErrorShape(endpoint as Endpoint, text);
        expect(h.upstream.requests.slice(before).filter((r) => r.body.includes(marker))).toEqual([]);
      },
      { ciRuns: 150 },
    );
  }, 120_000);
});
