import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { deepJsonText, hostileString } from '@orgmesh/testing';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/** One generated HTTP request against one OpenAPI operation. */
export interface FuzzRequest {
  path: string;
  method: string;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
  /** agent: finance-agent; manager: manager-agent (the policy lets it send tasks). */
  tokenKind: 'none' | 'agent' | 'manager' | 'admin' | 'garbage';
  /** A short description for the counterexample report (bodies can be 70 kB). */
  label: string;
}

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * Percent-encodes every code point as WTF-8, so NUL, controls and even lone surrogates (which
 * encodeURIComponent refuses) reach the server as the bytes a hostile client would send.
 */
export function percentEncode(value: string): string {
  let out = '';
  for (const char of value) {
    if (UNRESERVED.test(char)) {
      out += char;
      continue;
    }
    const cp = char.codePointAt(0) ?? 0;
    const bytes =
      cp < 0x80
        ? [cp]
        : cp < 0x800
          ? [0xc0 | (cp >> 6), 0x80 | (cp & 63)]
          : cp < 0x10000
            ? [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)]
            : [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
    out += bytes.map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  return out;
}

/** Optional fields left out of samples: a plausible value for them is a refusal (`from` must match the token). */
const LEFT_OUT = new Set(['from', 'cursor', 'scope']);

/** Values a field name usually needs to pass validation, so hostile siblings reach the services. */
const PLAUSIBLE: Record<string, unknown> = {
  to: 'manager',
  agentId: 'finance-agent',
  role: 'finance',
  event: 'activate',
  decision: 'approve',
  state: 'working',
  type: 'review',
  subject: 'budget',
  message: 'hello',
  reason: 'fuzz',
  format: 'goose',
  grant_type: 'client_credentials',
  client_id: 'viewer',
  client_secret: 'viewer-dev-secret',
  configHash: `sha256:${'0'.repeat(64)}`,
};

function resolve(doc: Json, schema: Json | undefined): Json {
  let node = schema ?? {};
  for (let hops = 0; typeof node['$ref'] === 'string' && hops < 10; hops += 1) {
    const parts = (node['$ref'] as string).replace(/^#\//, '').split('/');
    node = parts.reduce<Json>((n, p) => (n?.[p.replace(/~1/g, '/').replace(/~0/g, '~')] ?? {}) as Json, doc);
  }
  return node;
}

/** A deterministic plausible instance of a JSON schema (required and optional properties alike). */
export function sampleOf(doc: Json, schema: Json | undefined, name = '', depth = 0): unknown {
  const node = resolve(doc, schema);
  if (name in PLAUSIBLE) return PLAUSIBLE[name];
  if (depth > 6) return null;
  const variants = (node['anyOf'] ?? node['oneOf']) as Json[] | undefined;
  if (variants?.length) return sampleOf(doc, variants[0], name, depth + 1);
  if (node['const'] !== undefined) return node['const'];
  if (Array.isArray(node['enum'])) return node['enum'][0];
  if (node['default'] !== undefined) return node['default'];
  const type = Array.isArray(node['type']) ? node['type'][0] : node['type'];
  switch (type) {
    case 'object': {
      const out: Json = {};
      const required = new Set((node['required'] ?? []) as string[]);
      for (const [key, value] of Object.entries((node['properties'] ?? {}) as Json))
        if (required.has(key) || !LEFT_OUT.has(key)) out[key] = sampleOf(doc, value as Json, key, depth + 1);
      return out;
    }
    case 'array':
      return [sampleOf(doc, node['items'] as Json | undefined, name, depth + 1)];
    case 'integer':
    case 'number':
      return typeof node['minimum'] === 'number' ? node['minimum'] : 1;
    case 'boolean':
      return true;
    case 'string':
      if (node['format'] === 'uuid') return randomUUID();
      if (node['format'] === 'date-time') return new Date(Date.now() + 3_600_000).toISOString();
      return 'x'.repeat(Math.max(1, Number(node['minLength'] ?? 1)));
    default:
      return {};
  }
}

/** Marker replaced in the serialised body by JSON too deep to build as a value. */
const DEEP = '"__fuzz_deep_json__"';

const hostileNumber = fc.constantFrom(-1, 0, -0, 1.5, 1e308, -1e308, 2 ** 53 + 1, 2 ** 31, -(2 ** 63));
const wrongType = fc.constantFrom<unknown>(null, true, [], {}, [[[]]], { a: { b: {} } }, 'not-an-object', 0);
/** A value to put where a field is: hostile text, hostile numbers, the wrong type, or 3,000 levels of JSON. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 1, arbitrary: hostileNumber },
  { weight: 1, arbitrary: wrongType },
  { weight: 1, arbitrary: fc.constant(DEEP) },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(hostileString, hostileString, { maxKeys: 3 }) },
);

/** Mutations of a plausible object: some fields replaced by hostile values, some extra fields. */
function mutateObject(sample: Json): fc.Arbitrary<Json> {
  const keys = Object.keys(sample);
  const field = keys.length ? fc.constantFrom(...keys) : hostileString;
  return fc
    .record({
      replaced: fc.array(fc.tuple(field, hostileValue), { minLength: 0, maxLength: 3 }),
      nested: fc.option(fc.tuple(field, hostileString, hostileValue), { nil: undefined }),
      extra: fc.array(fc.tuple(hostileString, hostileValue), { maxLength: 2 }),
    })
    .map(({ replaced, nested, extra }) => {
      const out: Json = { ...sample };
      for (const [key, value] of replaced) out[key] = value;
      // Free-form JSON (input, metadata, details) is where hostile structure hides.
      if (nested) out[nested[0]] = { [nested[1]]: nested[2] };
      for (const [key, value] of extra) out[key] = value;
      return out;
    });
}

function serialise(value: unknown): string {
  return JSON.stringify(value).split(DEEP).join(deepJsonText(3_000));
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/merge-patch+json',
  'text/plain',
  'text/csv',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  '',
];

/** The request body of an operation: a mutated plausible instance, or structure and bytes that are not one. */
function bodyOf(
  doc: Json,
  op: Json,
): fc.Arbitrary<{ body: string | Uint8Array | undefined; type: string | undefined }> {
  const content = (op['requestBody']?.['content'] ?? {}) as Json;
  const documented = Object.keys(content);
  const schema = content['application/json']?.['schema'] ?? Object.values(content)[0]?.['schema'];
  const sample = sampleOf(doc, schema);
  const object = sample && typeof sample === 'object' && !Array.isArray(sample) ? (sample as Json) : {};
  const json =
    documented.includes('application/json') || !documented.length ? 'application/json' : documented[0];
  const keys = Object.keys(object);
  return fc.oneof(
    // One field hostile, the rest plausible: the case that reaches storage (NUL, lone surrogates).
    ...(keys.length
      ? [
          {
            weight: 5,
            arbitrary: fc
              .tuple(fc.constantFrom(...keys), hostileString)
              .map(([key, value]) => ({ body: serialise({ ...object, [key]: value }), type: json })),
          },
        ]
      : []),
    { weight: 4, arbitrary: mutateObject(object).map((value) => ({ body: serialise(value), type: json })) },
    { weight: 1, arbitrary: fc.constant({ body: serialise(object), type: json }) },
    { weight: 1, arbitrary: hostileValue.map((value) => ({ body: serialise(value), type: json })) },
    { weight: 1, arbitrary: fc.constant({ body: deepJsonText(3_000, 'array'), type: json }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }).map((bytes) => ({ body: bytes, type: json })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...CONTENT_TYPES), mutateObject(object))
        .map(([type, value]) => ({ body: serialise(value), type: type || undefined })),
    },
    { weight: 1, arbitrary: fc.constant({ body: undefined, type: undefined }) },
  );
}

/** A path parameter: a real fixture id (so the request gets past the router), a fresh uuid, or hostile text. */
function paramOf(fixtures: Record<string, string[]>, name: string): fc.Arbitrary<string> {
  const real = fixtures[name] ?? [];
  return fc.oneof(
    ...(real.length ? [{ weight: 3, arbitrary: fc.constantFrom(...real).map(percentEncode) }] : []),
    { weight: 1, arbitrary: fc.constant(randomUUID()) },
    { weight: 2, arbitrary: hostileString.filter((s) => s.length < 2_000).map(percentEncode) },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ minLength: 1, maxLength: 16 })
        .map((b) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')),
    },
  );
}

/**
 * A query string: some documented parameters with plausible values, often one of them hostile, and
 * sometimes an undocumented one, so a hostile value usually travels with otherwise valid siblings.
 */
function queryOf(doc: Json, op: Json): fc.Arbitrary<string> {
  const params = ((op['parameters'] ?? []) as Json[]).filter((p) => p['in'] === 'query');
  const plausible = params.map((p) => [
    p['name'] as string,
    String(sampleOf(doc, p['schema'] as Json, p['name'] as string)),
  ]);
  const hostileValue = fc.oneof(
    hostileString.filter((s) => s.length < 4_000),
    fc.constantFrom('-1', '0', '1e3', '99999999999999999999', 'true', 'eyJjIjoxLCJpIjoieCJ9'),
  );
  return fc
    .record({
      present: fc.array(fc.boolean(), { minLength: params.length, maxLength: params.length }),
      hostile: params.length
        ? fc.option(fc.tuple(fc.nat(params.length - 1), hostileValue), { nil: undefined, freq: 2 })
        : fc.constant(undefined),
      extra: fc.option(
        hostileString.filter((s) => s.length < 200),
        { nil: undefined, freq: 3 },
      ),
    })
    .map(({ present, hostile, extra }) => {
      const values = new Map(
        plausible.filter(([name], i) => present[i] && !LEFT_OUT.has(name as string)) as Array<
          [string, string]
        >,
      );
      if (hostile) values.set(plausible[hostile[0]]?.[0] ?? 'x', hostile[1]);
      const parts = [...values].map(([name, value]) => `${name}=${percentEncode(value)}`);
      if (extra !== undefined) parts.push(`${percentEncode(extra)}=${percentEncode(extra)}`);
      return parts.length ? `?${parts.join('&')}` : '';
    });
}

/**
 * Requests for one operation: hostile path and query parameters, hostile bodies built from its
 * request schema, any content type, a valid agent or admin token, a garbage one or none, and
 * Idempotency-Keys that are unique when valid (so a replay never stands for a create).
 */
export function requestsFor(
  doc: Json,
  template: string,
  method: string,
  op: Json,
  fixtures: Record<string, string[]>,
): fc.Arbitrary<FuzzRequest> {
  const params = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
  const hasBody = ['post', 'put', 'patch'].includes(method);
  return fc
    .record({
      params: fc.tuple(...params.map((name) => paramOf(fixtures, name))),
      query: queryOf(doc, op),
      body: hasBody ? bodyOf(doc, op) : fc.constant({ body: undefined, type: undefined }),
      tokenKind: fc.constantFrom<FuzzRequest['tokenKind']>(
        'agent',
        'agent',
        'manager',
        'manager',
        'admin',
        'admin',
        'admin',
        'none',
        'garbage',
      ),
      idempotencyKey: fc.oneof(
        { weight: 8, arbitrary: fc.constant<string | undefined>(undefined) },
        { weight: 1, arbitrary: fc.constant('') },
        { weight: 1, arbitrary: fc.constantFrom('a b', 'é', 'x'.repeat(201)) },
        { weight: 2, arbitrary: fc.constant(null).map(() => randomUUID()) },
      ),
    })
    .map(({ params: values, query, body, tokenKind, idempotencyKey }) => {
      let i = 0;
      const path = template.replace(/\{[^}]+\}/g, () => values[i++] ?? 'x') + query;
      const headers: Record<string, string> = {};
      if (body.type !== undefined) headers['content-type'] = body.type;
      if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
      const size = body.body === undefined ? 0 : body.body.length;
      const label = `${method.toUpperCase()} ${path.slice(0, 300)} [${tokenKind}, ${body.type ?? 'no type'}, ${size} B${idempotencyKey === undefined ? '' : `, key ${JSON.stringify(idempotencyKey.slice(0, 20))}`}] ${typeof body.body === 'string' ? body.body.slice(0, 300) : ''}`;
      return { path, method: method.toUpperCase(), headers, body: body.body, tokenKind, label };
    });
}

/** One raw HTTP/1.1 request as bytes, for the framing Node's parser sees before any handler. */
export interface RawRequestCase {
  bytes: Buffer;
  method: string;
  label: string;
}

/** Latin-1 text (one byte per character), controls and CR/LF included: what a socket can carry. */
const rawText = (maxLength: number) =>
  fc.uint8Array({ maxLength }).map((bytes) => Buffer.from(bytes).toString('latin1'));

/**
 * Requests with hostile framing: odd methods, versions and request targets (raw bytes, absolute
 * form, over 16 KB), duplicate and conflicting Content-Length / Transfer-Encoding, control bytes in
 * header names and values, bodies that do or do not match. `token` is a valid bearer token that
 * some cases carry, so framing bugs behind authentication are reached too. Event streams are left
 * out: they are meant to stay open.
 */
export function rawRequests(paths: readonly string[], token: string): fc.Arbitrary<RawRequestCase> {
  const header = fc.oneof(
    fc.tuple(
      fc.constant('Content-Length'),
      fc.constantFrom('0', '5', '-1', '1e3', '99999999999999999999', ' 3', '3, 3'),
    ),
    fc.tuple(
      fc.constant('Transfer-Encoding'),
      fc.constantFrom('chunked', 'gzip, chunked', 'chunked, gzip', 'identity', 'x'),
    ),
    fc.tuple(
      fc.constant('Content-Type'),
      fc.constantFrom('application/json', 'text/csv', 'application/json; charset=\u00ff'),
    ),
    fc.tuple(
      fc.constant('Authorization'),
      fc.constantFrom(`Bearer ${token}`, 'Bearer', 'Basic AAAA', `Bearer ${token}x`),
    ),
    fc.tuple(
      fc.constantFrom('Idempotency-Key', 'Last-Event-ID', 'Host', 'Expect', 'Upgrade', 'traceparent'),
      rawText(40),
    ),
    fc.tuple(fc.constant('Expect'), fc.constantFrom('100-continue', '', 'x', '100-continue, x')),
    fc.tuple(rawText(12), rawText(40)),
  );
  const target = fc.oneof(
    fc.tuple(fc.constantFrom(...paths), rawText(24)).map(([path, id]) => path.replace(/\{[^}]+\}/g, id)),
    fc.constantFrom(
      '*',
      '/',
      '//v1/tasks',
      'http://gateway/v1/tasks',
      'http://[',
      '/v1/tasks?%',
      '/%zz',
      '/v1/tasks#x',
    ),
    fc.constant(`/v1/tasks?q=${'a'.repeat(17_000)}`),
  );
  return fc
    .record({
      method: fc.constantFrom(
        'GET',
        'POST',
        'PUT',
        'PATCH',
        'DELETE',
        'OPTIONS',
        'HEAD',
        'TRACE',
        'PROPFIND',
        'CONNECT',
        'get',
        'G T',
        '',
      ),
      target,
      version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9', ''),
      headers: fc.array(header, { maxLength: 6 }),
      host: fc.constantFrom(true, true, true, false),
      body: fc.oneof(
        fc.constant(''),
        rawText(64),
        fc.constant('{"to":"manager","type":"review"}'),
        fc.constant('5\r\nhello\r\n0\r\n\r\n'),
      ),
    })
    .filter(({ target }) => !target.startsWith('/v1/events'))
    .map(({ method, target, version, headers, host, body }) => {
      const head =
        `${method} ${target} ${version}\r\n` +
        (host ? 'Host: gateway\r\n' : '') +
        headers.map(([name, value]) => `${name}: ${value}\r\n`).join('') +
        'Connection: close\r\n\r\n';
      return {
        bytes: Buffer.from(head + body, 'latin1'),
        method,
        label: JSON.stringify((head + body).slice(0, 400)),
      };
    });
}
