import { Socket } from 'node:net';
import fc from 'fast-check';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { HEADERS, type RpcDefinition } from '@orgmesh/contracts';
import { deepJsonText, hostileString } from './fuzz.js';

/**
 * What a hostile bus caller can send to an RPC subject (issue 17), shared by the bus fuzz suites.
 * The bodies are raw bytes, so nothing on the calling side validates or re-encodes them.
 */
export interface HostileBody {
  kind: 'bytes' | 'non-object' | 'hostile-fields' | 'deep';
  body: Uint8Array;
}

const encoder = new TextEncoder();

/** The request's top-level field names, read from the zod object schema (empty when it is not one). */
export function requestKeys(rpc: RpcDefinition): string[] {
  let schema: unknown = rpc.request;
  // Unwrap pipes/defaults/optionals down to the object, if any.
  for (let i = 0; i < 8 && schema; i += 1) {
    const def = (schema as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
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

/** Raw bytes, non-object JSON, the contract's keys filled with hostile values, and deep nesting. */
export function hostileBody(rpc: RpcDefinition): fc.Arbitrary<HostileBody> {
  const keys = requestKeys(rpc);
  const fields =
    keys.length > 0
      ? fc.record(Object.fromEntries(keys.map((k) => [k, hostileValue])), { requiredKeys: [] })
      : fc.dictionary(hostileString, hostileValue, { maxKeys: 4 });
  const deepAt = keys.length > 0 ? fc.constantFrom(...keys) : fc.constant('a');
  return fc.oneof(
    fc.uint8Array({ maxLength: 256 }).map((body) => ({ kind: 'bytes' as const, body })),
    fc
      .oneof(
        fc.jsonValue({ maxDepth: 2 }).filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)),
        hostileString,
      )
      .map((v) => ({ kind: 'non-object' as const, body: text(JSON.stringify(v)) })),
    fields.map((v) => ({ kind: 'hostile-fields' as const, body: text(JSON.stringify(v)) })),
    fc
      .tuple(deepAt, fc.constantFrom(70, 200, 3000), fc.constantFrom('object' as const, 'array' as const))
      .map(([key, depth, shape]) => ({
        kind: 'deep' as const,
        body: text(`{${JSON.stringify(key)}:${deepJsonText(depth, shape)}}`),
      })),
  );
}

/** The fixed cases every contract gets besides the random ones. */
export function fixedHostileBodies(rpc: RpcDefinition): HostileBody[] {
  const keys = requestKeys(rpc);
  const nul = Object.fromEntries(keys.map((k) => [k, 'a\u0000b']));
  const lone = Object.fromEntries(keys.map((k) => [k, 'x\ud800y']));
  return [
    { kind: 'bytes', body: new Uint8Array() },
    { kind: 'bytes', body: Uint8Array.from([0xff, 0xfe, 0x00, 0x7b]) },
    { kind: 'bytes', body: text('{not json') },
    ...['null', '0', '"x"', '[]', 'true', '[{}]'].map((t) => ({ kind: 'non-object' as const, body: text(t) })),
    { kind: 'hostile-fields', body: text(JSON.stringify(nul)) },
    { kind: 'hostile-fields', body: text(JSON.stringify(lone)) },
    { kind: 'deep', body: text(deepJsonText(3000)) },
    ...keys.map((k) => ({ kind: 'deep' as const, body: text(`{${JSON.stringify(k)}:${deepJsonText(3000)}}`) })),
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
  opts: { authorization?: string; timeoutMs: number },
): Promise<RawReply> {
  const hdrs = natsHeaders();
  if (opts.authorization) hdrs.set(HEADERS.authorization, opts.authorization);
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
  if (typeof code !== 'string' || code !== reply.code) return `error body code ${String(code)} ≠ header ${reply.code}`;
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
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return {
    faults,
    stop() {
      process.off('uncaughtException', onException);
      process.off('unhandledRejection', onRejection);
    },
  };
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
