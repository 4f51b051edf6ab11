import { Socket } from 'node:net';
import { runInThisContext } from 'node:vm';
import fc from 'fast-check';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { HEADERS, ZOD_WRAPPER_TYPES, type RpcDefinition } from '@orgmesh/contracts';
import { deepJson, deepJsonText, hostileString } from './fuzz.js';

/**
 * What a hostile bus caller can send to an RPC subject (issue 17), shared by the bus fuzz suites.
 * The bodies are raw bytes, so nothing on the calling side validates or re-encodes them.
 */
export interface HostileBody {
  kind: 'bytes' | 'non-object' | 'hostile-fields' | 'schema-shaped' | 'deep';
  body: Uint8Array;
}

const encoder = new TextEncoder();

/** The request's top-level field names, read from the zod object schema (empty when it is not one). */
export function requestKeys(rpc: RpcDefinition): string[] {
  let schema: unknown = rpc.request;
  // Unwrap pipes/defaults/optionals down to the object, if any.
  for (let i = 0; i < 8 && schema; i += 1) {
    const def = defOf(schema);
    if (!def) break;
    if (def['type'] === 'object') return Object.keys((def['shape'] as Record<string, unknown>) ?? {});
    schema = def['in'] ?? def['innerType'] ?? def['schema'];
  }
  return [];
}

/** JSON values that break naive handlers: hostile strings, wrong types, nesting just past the contracts' limit. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(hostileString, hostileString, { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 4 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      -1,
      0,
      1e308,
      Number.MAX_SAFE_INTEGER + 2,
      -0.5,
      true,
      null,
      '00000000-0000-0000-0000-000000000000',
      '2026-13-45T99:99:99Z',
      'eyJjIjoxLCJpIjoieCJ9',
    ),
  },
);

function text(value: string): Uint8Array {
  return encoder.encode(value);
}

/** A body that prints itself readably (kind and the first 120 characters) in fast-check's reports. */
function hostile(kind: HostileBody['kind'], body: Uint8Array): HostileBody {
  return {
    kind,
    body,
    [fc.toStringMethod]: () => `${kind} ${describeBody(body)}`,
  } as HostileBody;
}

/** The first 120 characters of a body as a JSON string literal, with its size when cut. */
export function describeBody(body: Uint8Array): string {
  const shown = new TextDecoder().decode(body.subarray(0, 120));
  return body.length > 120 ? `${JSON.stringify(shown)}…(${body.length} bytes)` : JSON.stringify(shown);
}

type ZodDef = Record<string, unknown> & { type?: string };

function defOf(schema: unknown): ZodDef | undefined {
  return (schema as { _zod?: { def?: ZodDef } } | undefined)?._zod?.def;
}

/** Names that exist in the demo org, so a shaped request sometimes passes policy and reaches storage. */
const PLAUSIBLE_NAMES = [
  'finance',
  'manager',
  'legal',
  'finance-agent',
  'manager-agent',
  'legal-agent',
  'admin',
  'u00040',
];

/** The regex and length bounds of a zod string schema, read from its checks. */
function stringChecks(def: ZodDef): { pattern: RegExp | undefined; min: number; max: number } {
  let pattern: RegExp | undefined;
  let min = 0;
  let max = Number.MAX_SAFE_INTEGER;
  for (const check of (def['checks'] as unknown[] | undefined) ?? []) {
    const c = defOf(check);
    if (!c) continue;
    if (c['check'] === 'string_format' && c['pattern'] instanceof RegExp) pattern = c['pattern'];
    if (c['check'] === 'min_length' && typeof c['minimum'] === 'number') min = c['minimum'];
    if (c['check'] === 'max_length' && typeof c['maximum'] === 'number') max = c['maximum'];
    if (c['check'] === 'length_equals' && typeof c['length'] === 'number') min = max = c['length'];
  }
  return { pattern, min, max };
}

/** A string field: mostly something the schema may accept, sometimes with a hostile character in it. */
function stringValue(def: ZodDef, mild: boolean): fc.Arbitrary<string> {
  let plausible: fc.Arbitrary<string>;
  switch (def['format']) {
    case 'uuid':
    case 'guid':
      plausible = fc.uuid({ version: 4 });
      break;
    case 'datetime':
      plausible = fc
        .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
        .map((d) => d.toISOString());
      break;
    case 'email':
      plausible = fc.constantFrom('a@example.test', 'x@y.z');
      break;
    case 'url':
      plausible = fc.constantFrom('http://127.0.0.1:1/x', 'https://example.test/');
      break;
    default: {
      const { pattern, min, max } = stringChecks(def);
      const base = pattern
        ? fc.stringMatching(pattern, { size: 'xsmall' })
        : fc.oneof(fc.constantFrom(...PLAUSIBLE_NAMES), fc.string({ minLength: 1, maxLength: 24 }));
      plausible = base.filter((v) => v.length >= min && v.length <= max);
      if (pattern && mild) return plausible;
    }
  }
  const spiced = fc
    .tuple(
      plausible,
      fc.constantFrom('\u0000', '\ud800', '\udfff', '\u202e', '💥', 'é', '%00', "'"),
      fc.boolean(),
    )
    .map(([base, bad, atEnd]) => (atEnd ? `${base}${bad}` : `${bad}${base}`));
  // A formatted string (uuid, datetime, …) takes no decoration and stays valid.
  if (mild && def['format'] !== undefined) return plausible;
  if (mild) {
    // Odd but acceptable to any contract: accents, emoji, a bidi override, quotes.
    const odd = fc
      .tuple(plausible, fc.constantFrom('é', '💥', '\u202e', "'", '"', ' '))
      .map(([base, extra]) => `${base}${extra}`);
    return fc.oneof({ weight: 4, arbitrary: plausible }, { weight: 1, arbitrary: odd });
  }
  return fc.oneof(
    { weight: 3, arbitrary: plausible },
    { weight: 2, arbitrary: spiced },
    { weight: 2, arbitrary: hostileString },
  );
}

const MILD_JSON: fc.Arbitrary<unknown> = fc.dictionary(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }),
  fc.oneof(fc.string({ unit: 'grapheme', maxLength: 16 }), fc.integer(), fc.boolean(), fc.constant(null)),
  { maxKeys: 3 },
);

/**
 * A value shaped like `schema` (zod 4 definitions walked generically): objects get their fields,
 * enums their members, strings their format, free-form JSON hostile JSON; every leaf may be
 * hostile, so validation refuses most of them. `mild`: leaves that are odd but valid (accents,
 * emoji, small JSON), so most values pass validation and the handlers and the database see them.
 */
export function schemaValue(schema: unknown, options: { mild?: boolean } = {}): fc.Arbitrary<unknown> {
  return shaped(schema, 0, options.mild ?? false);
}

function shaped(schema: unknown, depth: number, mild: boolean): fc.Arbitrary<unknown> {
  const def = defOf(schema);
  if (!def || depth > 6) return mild ? MILD_JSON : hostileValue;
  if (def.type !== undefined && ZOD_WRAPPER_TYPES.has(def.type)) return shaped(def['innerType'], depth, mild);
  switch (def.type) {
    case 'object': {
      const shape = (def['shape'] as Record<string, unknown>) ?? {};
      return fc.record(
        Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, shaped(v, depth + 1, mild)])),
        { requiredKeys: Object.keys(shape).filter((k) => defOf(shape[k])?.type !== 'optional') },
      );
    }
    case 'string':
      return stringValue(def, mild);
    case 'number':
      if (mild) return fc.integer({ min: 1, max: 50 });
      return fc.oneof(
        fc.integer({ min: -2, max: 600 }),
        fc.constantFrom(0, 1, 50, 500, 501, -1, 1.5, 1e21, Number.MAX_SAFE_INTEGER),
      );
    case 'boolean':
      return fc.boolean();
    case 'enum':
      if (mild) return fc.constantFrom(...Object.values(def['entries'] as Record<string, unknown>));
      return fc.oneof(
        {
          weight: 5,
          arbitrary: fc.constantFrom(...Object.values(def['entries'] as Record<string, unknown>)),
        },
        { weight: 1, arbitrary: hostileString },
      );
    case 'literal':
      return fc.constantFrom(...(def['values'] as unknown[]));
    case 'array':
      return fc.array(shaped(def['element'], depth + 1, mild), { maxLength: 3 });
    case 'tuple':
      return fc.tuple(...((def['items'] as unknown[]) ?? []).map((item) => shaped(item, depth + 1, mild)));
    case 'record':
      return fc.dictionary(stringValue({}, mild), shaped(def['valueType'], depth + 1, mild), { maxKeys: 3 });
    case 'union':
      return fc.oneof(...(def['options'] as unknown[]).map((o) => shaped(o, depth + 1, mild)));
    case 'intersection':
      return shaped(def['left'], depth + 1, mild);
    case 'pipe':
      return shaped(def['in'], depth, mild);
    case 'null':
      return fc.constant(null);
    default:
      // unknown, any, lazy (z.json()), custom: free-form JSON, sometimes just past the depth limit.
      if (mild) return MILD_JSON;
      return fc.oneof(
        { weight: 4, arbitrary: hostileValue },
        { weight: 1, arbitrary: fc.constantFrom(70, 200).map((d) => deepJson(d)) },
      );
  }
}

/** Raw bytes, non-object JSON, the contract's keys filled with hostile values, and deep nesting. */
export function hostileBody(rpc: RpcDefinition): fc.Arbitrary<HostileBody> {
  const keys = requestKeys(rpc);
  const fields =
    keys.length > 0
      ? fc.record(Object.fromEntries(keys.map((k) => [k, hostileValue])), { requiredKeys: [] })
      : fc.dictionary(hostileString, hostileValue, { maxKeys: 4 });
  const deepAt = keys.length > 0 ? fc.constantFrom(...keys) : fc.constant('a');
  return fc.oneof(
    {
      weight: 4,
      arbitrary: schemaValue(rpc.request).map((v) => hostile('schema-shaped', text(JSON.stringify(v)))),
    },
    {
      weight: 2,
      arbitrary: schemaValue(rpc.request, { mild: true }).map((v) =>
        hostile('schema-shaped', text(JSON.stringify(v))),
      ),
    },
    fc.uint8Array({ maxLength: 256 }).map((body) => hostile('bytes', body)),
    fc
      .oneof(
        fc.jsonValue({ maxDepth: 2 }).filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)),
        hostileString,
      )
      .map((v) => hostile('non-object', text(JSON.stringify(v)))),
    fields.map((v) => hostile('hostile-fields', text(JSON.stringify(v)))),
    fc
      .tuple(deepAt, fc.constantFrom(70, 200, 3000), fc.constantFrom('object' as const, 'array' as const))
      .map(([key, depth, shape]) =>
        hostile('deep', text(`{${JSON.stringify(key)}:${deepJsonText(depth, shape)}}`)),
      ),
  );
}

/**
 * Metadata headers a service reads besides `authorization`, with hostile values (NATS header values
 * cannot hold CR or LF, so those are replaced).
 */
export const hostileHeaders: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    [HEADERS.idempotencyKey]: hostileString.map((v) => v.replace(/[\r\n]/g, ' ')),
    [HEADERS.traceparent]: fc.oneof(
      hostileString.map((v) => v.replace(/[\r\n]/g, ' ')),
      fc.constant('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'),
      fc.constant('ff-00000000000000000000000000000000-0000000000000000-ff'),
    ),
  },
  { requiredKeys: [] },
);

/** The fixed cases every contract gets besides the random ones. */
export function fixedHostileBodies(rpc: RpcDefinition): HostileBody[] {
  const keys = requestKeys(rpc);
  const nul = Object.fromEntries(keys.map((k) => [k, 'a\u0000b']));
  const lone = Object.fromEntries(keys.map((k) => [k, 'x\ud800y']));
  return [
    hostile('bytes', new Uint8Array()),
    hostile('bytes', Uint8Array.from([0xff, 0xfe, 0x00, 0x7b])),
    hostile('bytes', text('{not json')),
    ...['null', '0', '"x"', '[]', 'true', '[{}]'].map((t) => hostile('non-object', text(t))),
    hostile('hostile-fields', text(JSON.stringify(nul))),
    hostile('hostile-fields', text(JSON.stringify(lone))),
    hostile('deep', text(deepJsonText(3000))),
    ...keys.map((k) => hostile('deep', text(`{${JSON.stringify(k)}:${deepJsonText(3000)}}`))),
  ];
}

export interface RawReply {
  /** `orgmesh-status`, undefined on a success reply. */
  status: number | undefined;
  code: string | undefined;
  body: string;
}

/** Sends raw bytes to an RPC subject; the reply's status, code and body. Throws on no reply in time. */
export async function requestRaw(
  nc: NatsConnection,
  subject: string,
  body: Uint8Array,
  opts: { authorization?: string; headers?: Record<string, string>; timeoutMs: number },
): Promise<RawReply> {
  const hdrs = natsHeaders();
  if (opts.authorization) hdrs.set(HEADERS.authorization, opts.authorization);
  for (const [key, value] of Object.entries(opts.headers ?? {})) hdrs.set(key, value);
  const reply = await nc.request(subject, body, { timeout: opts.timeoutMs, headers: hdrs });
  const status = reply.headers?.get(HEADERS.errorStatus);
  const code = reply.headers?.get(HEADERS.errorCode);
  return { status: status ? Number(status) : undefined, code: code || undefined, body: reply.string() };
}

/**
 * What every hostile request must get: a success, or a typed error with a 4xx status whose body
 * names the same code. Returns a description of what is wrong, or undefined.
 */
export function replyProblem(reply: RawReply): string | undefined {
  if (reply.status === undefined) return undefined;
  if (reply.status < 400 || reply.status >= 500) return `status ${reply.status} (${reply.code ?? 'no code'})`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(reply.body);
  } catch {
    return `status ${reply.status} with a body that is not JSON`;
  }
  const code = (parsed as { error?: { code?: unknown } } | null)?.error?.code;
  if (typeof code !== 'string' || code !== reply.code)
    return `error body code ${String(code)} ≠ header ${reply.code}`;
  return undefined;
}

/**
 * Records what reaches the process-level handlers while a fuzz suite runs: an uncaught exception
 * or unhandled rejection is a bug input must never reach.
 */
export function recordProcessFaults(): { faults: string[]; stop(): void } {
  const faults: string[] = [];
  const onException = (error: unknown) => faults.push(`uncaughtException: ${describeFault(error)}`);
  const onRejection = (error: unknown) => faults.push(`unhandledRejection: ${describeFault(error)}`);
  // Under jest, a test module's `process` is a copy whose process-level events never fire; the
  // listeners go on the real one (jest itself also fails the running test on such a fault).
  const target = realProcess();
  target.on('uncaughtException', onException);
  target.on('unhandledRejection', onRejection);
  return {
    faults,
    stop() {
      target.off('uncaughtException', onException);
      target.off('unhandledRejection', onRejection);
    },
  };
}

/** The process object of the main context, also from inside a jest sandbox. */
export function realProcess(): NodeJS.Process {
  return runInThisContext('process') as NodeJS.Process;
}

function describeFault(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/**
 * Publishes one message over a raw NATS protocol connection, with a header block written as is
 * (nats.js refuses to build a malformed one), and returns the raw reply text, or '' when no
 * reply came within `timeoutMs`.
 */
export async function publishRawProtocol(
  natsUrl: string,
  subject: string,
  headerBlock: string,
  payload: string,
  timeoutMs = 3000,
): Promise<string> {
  const url = new URL(natsUrl.split(',')[0]!.trim());
  const socket = new Socket();
  let received = '';
  const inbox = `_RAW_INBOX.${Math.random().toString(36).slice(2)}`;
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(Number(url.port || 4222), url.hostname, resolve);
    });
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
        if (received.includes('PING\r\n')) socket.write('PONG\r\n');
        if (new RegExp(`H?MSG ${inbox.replace(/\./g, '\\.')} `).test(received)) {
          clearTimeout(timer);
          // The header block and payload follow the MSG line; give them a moment to arrive.
          setTimeout(resolve, 50);
        }
      });
    });
    const hdr = Buffer.from(headerBlock, 'latin1');
    const data = Buffer.from(payload, 'utf8');
    socket.write(
      `CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1}\r\n` +
        `SUB ${inbox} 1\r\n`,
    );
    socket.write(`HPUB ${subject} ${inbox} ${hdr.length} ${hdr.length + data.length}\r\n`);
    socket.write(Buffer.concat([hdr, data, Buffer.from('\r\n')]));
    await done;
    const at = received.search(/H?MSG /);
    return at >= 0 ? received.slice(at) : '';
  } finally {
    socket.destroy();
  }
}

/**
 * A hostile responder over a raw protocol connection: answers every request on `subject` with
 * `headerBlock` and `payload` written as is. Resolves once subscribed; call `stop()` to disconnect.
 */
export async function rawResponder(
  natsUrl: string,
  subject: string,
  headerBlock: string,
  payload: string,
): Promise<{ stop(): void }> {
  const url = new URL(natsUrl.split(',')[0]!.trim());
  const socket = new Socket();
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(Number(url.port || 4222), url.hostname, resolve);
  });
  const hdr = Buffer.from(headerBlock, 'latin1');
  const data = Buffer.from(payload, 'utf8');
  let pending = '';
  let subscribed: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (subscribed = resolve));
  socket.on('data', (chunk: Buffer) => {
    pending += chunk.toString('latin1');
    if (pending.includes('PONG\r\n')) subscribed();
    if (pending.includes('PING\r\n')) socket.write('PONG\r\n');
    // MSG <subject> <sid> <reply> <size>: answer on <reply>.
    for (const match of pending.matchAll(/(?:^|\r\n)H?MSG \S+ \S+ (\S+) /g)) {
      socket.write(`HPUB ${match[1]} ${hdr.length} ${hdr.length + data.length}\r\n`);
      socket.write(Buffer.concat([hdr, data, Buffer.from('\r\n')]));
    }
    pending = pending.slice(Math.max(0, pending.lastIndexOf('\r\n')));
  });
  socket.write(
    `CONNECT {"verbose":false,"pedantic":false,"headers":true,"protocol":1}\r\nSUB ${subject} 1\r\nPING\r\n`,
  );
  await ready;
  return { stop: () => socket.destroy() };
}
