import * as grpc from '@grpc/grpc-js';
import { AppError, httpStatusFor, toWellFormed, type ErrorCode, type ErrorHttpStatus } from '@orgmesh/contracts';

/** Trailer with the stable orgmesh error code (ASCII, one of ERROR_CODES). */
export const ERROR_CODE_TRAILER = 'orgmesh-error-code';
/** Trailer with the error's details as UTF-8 JSON bytes (exactly what the error carried). */
export const ERROR_DETAILS_BIN_TRAILER = 'orgmesh-error-details-bin';
/**
 * The same JSON for clients that read text metadata: every character outside printable ASCII is
 * written as a `\uXXXX` escape, so the value is legal in an ASCII trailer and parses to the same value.
 */
export const ERROR_DETAILS_TRAILER = 'orgmesh-error-details';

/**
 * Trailers are headers: a few KB at most. Details that echo a large input are cut to this many
 * bytes per trailer (arrays to their first items, long strings to a prefix, `truncated: true`).
 */
export const MAX_DETAILS_BYTES = 8 * 1024;
/** `grpc-message` is percent-encoded by grpc-js (up to 9 bytes a character): keep it short. */
export const MAX_STATUS_MESSAGE_CHARS = 512;

/** A status message grpc-js can always send: well-formed and bounded. */
export function safeStatusMessage(message: string): string {
  const cut =
    message.length > MAX_STATUS_MESSAGE_CHARS ? `${message.slice(0, MAX_STATUS_MESSAGE_CHARS)}…` : message;
  // grpc-js `encodeURI`s the status message, which throws on a lone surrogate.
  return toWellFormed(cut);
}

/** JSON text with every character outside printable ASCII escaped; `JSON.parse` gives the same value. */
export function asciiJson(json: string): string {
  return json.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The gRPC status of each HTTP status an orgmesh error has (exhaustive over ErrorHttpStatus). */
const GRPC_STATUS_BY_HTTP: Record<ErrorHttpStatus, grpc.status> = {
  400: grpc.status.INVALID_ARGUMENT,
  401: grpc.status.UNAUTHENTICATED,
  403: grpc.status.PERMISSION_DENIED,
  404: grpc.status.NOT_FOUND,
  405: grpc.status.UNIMPLEMENTED,
  // Retrying the read-modify-write may succeed (gRPC's guide: ABORTED for concurrency conflicts).
  409: grpc.status.ABORTED,
  413: grpc.status.RESOURCE_EXHAUSTED,
  422: grpc.status.FAILED_PRECONDITION,
  429: grpc.status.RESOURCE_EXHAUSTED,
  500: grpc.status.INTERNAL,
  503: grpc.status.UNAVAILABLE,
  504: grpc.status.DEADLINE_EXCEEDED,
};

/**
 * The one gRPC status per orgmesh code: the one of its HTTP status (httpStatusFor classifies the
 * codes), except an illegal transition, a 409 that no retry fixes (the state forbids it), which is
 * FAILED_PRECONDITION rather than ABORTED.
 */
export function grpcStatusFor(code: ErrorCode): grpc.status {
  if (code === 'session_illegal_transition' || code === 'task_illegal_transition')
    return grpc.status.FAILED_PRECONDITION;
  return GRPC_STATUS_BY_HTTP[httpStatusFor(code)];
}

/** Ever smaller copies of details that do not fit: string prefix, array and object entries, depth. */
const SHRINK_LEVELS = [
  { strings: 200, items: 20, depth: 8 },
  { strings: 64, items: 8, depth: 4 },
  { strings: 16, items: 3, depth: 2 },
] as const;
type ShrinkLevel = (typeof SHRINK_LEVELS)[number];

/** A bounded copy (depth-limited recursion). */
function shrink(value: unknown, level: ShrinkLevel, depth: number): unknown {
  if (typeof value === 'string')
    return value.length > level.strings ? `${value.slice(0, level.strings)}…` : value;
  if (value === null || typeof value !== 'object') return value;
  if (depth >= level.depth) return '…';
  if (Array.isArray(value)) return value.slice(0, level.items).map((item) => shrink(item, level, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value).slice(0, level.items))
    out[key.slice(0, level.strings)] = shrink(inner, level, depth + 1);
  return out;
}

function fits(json: string): boolean {
  // The escaped form is never shorter than the JSON: skip escaping what is too long already.
  return (
    json.length <= MAX_DETAILS_BYTES &&
    asciiJson(json).length <= MAX_DETAILS_BYTES &&
    Buffer.byteLength(json) <= MAX_DETAILS_BYTES
  );
}

/**
 * The details as JSON within MAX_DETAILS_BYTES in both encodings, or undefined if they are not JSON
 * at all. Lone surrogates come out as `\udXXX` escapes (JSON.stringify is well-formed), so the
 * text is always valid UTF-8.
 */
export function boundedDetailsJson(details: Record<string, unknown>): string | undefined {
  let json: string;
  try {
    json = JSON.stringify(details);
  } catch {
    // Not serialisable (a cycle, a BigInt, too deep): the code and message still reach the client.
    return undefined;
  }
  if (fits(json)) return json;
  for (const level of SHRINK_LEVELS) {
    const shrunk = JSON.stringify({
      ...(shrink(details, level, 0) as Record<string, unknown>),
      truncated: true,
    });
    if (fits(shrunk)) return shrunk;
  }
  return JSON.stringify({ truncated: true });
}

/**
 * How an error reads at the gRPC edge: the route table speaks REST (`PUT /v1/registry`, issue
 * paths `body.agentId`), a gRPC client knows methods and proto field names.
 */
export interface GrpcErrorTerms {
  /** Full method name, e.g. `orgmesh.v1.Registry/LoadRegistry`. */
  method: string;
  /**
   * REST words in messages and their gRPC equivalents, e.g. the route's operation
   * `PUT /v1/registry` (named in access errors) → `orgmesh.v1.Registry/LoadRegistry`.
   */
  words?: ReadonlyArray<readonly [rest: string, grpc: string]>;
  /** A contract issue path (`body.to.agentId`) as a proto field path (`to.agent_id`). */
  fieldPath?: (path: string) => string;
}

interface Issue {
  path: string;
  message: string;
}

function isIssueList(value: unknown): value is Issue[] {
  return (
    Array.isArray(value) &&
    value.every(
      (i) =>
        typeof i === 'object' &&
        i !== null &&
        typeof (i as Issue).path === 'string' &&
        typeof (i as Issue).message === 'string',
    )
  );
}

/** Message and details in proto terms: REST operation → gRPC method, issue paths → proto field paths. */
export function inGrpcTerms(
  message: string,
  details: Record<string, unknown> | undefined,
  terms: GrpcErrorTerms | undefined,
): { message: string; details: Record<string, unknown> | undefined } {
  if (!terms) return { message, details };
  let text = message;
  for (const [rest, inGrpc] of terms.words ?? []) text = text.split(rest).join(inGrpc);
  const issues = details?.['issues'];
  if (!details || !terms.fieldPath || !isIssueList(issues)) return { message: text, details };
  const translated = issues.map((issue) => {
    const path = terms.fieldPath?.(issue.path) ?? issue.path;
    text = text.split(`${issue.path}: `).join(`${path}: `);
    return { ...issue, path };
  });
  return { message: text, details: { ...details, issues: translated } };
}

/**
 * A gRPC error status carrying the orgmesh code and details in trailers that can hold any input
 * the details echo: `orgmesh-error-details-bin` (UTF-8 JSON) and `orgmesh-error-details` (the same
 * JSON, ASCII-escaped). The message is well-formed and bounded, so grpc-js can always send it.
 * Anything but an AppError is `internal`, with a message that reveals nothing.
 */
export function toGrpcError(error: unknown, terms?: GrpcErrorTerms): grpc.StatusObject {
  const app = error instanceof AppError ? error : new AppError('internal', 'internal error');
  const { message, details } = inGrpcTerms(app.message, app.details, terms);
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_TRAILER, app.code);
  const json = details ? boundedDetailsJson(details) : undefined;
  if (json !== undefined) {
    metadata.set(ERROR_DETAILS_BIN_TRAILER, Buffer.from(json, 'utf8'));
    metadata.set(ERROR_DETAILS_TRAILER, asciiJson(json));
  }
  return { code: grpcStatusFor(app.code), details: safeStatusMessage(message), metadata };
}

/** The last resort when even a typed error could not be sent: no metadata, nothing from the input. */
export function bareInternalStatus(): { code: grpc.status; details: string } {
  return { code: grpc.status.INTERNAL, details: 'internal error' };
}

/**
 * An error's details as a client reads them: the `-bin` trailer when present, else the ASCII one.
 * Undefined when the status carries none (or they are not JSON).
 */
export function readErrorDetails(metadata: grpc.Metadata): unknown {
  const [bin] = metadata.get(ERROR_DETAILS_BIN_TRAILER);
  const [text] = metadata.get(ERROR_DETAILS_TRAILER);
  const raw = Buffer.isBuffer(bin) ? bin.toString('utf8') : typeof text === 'string' ? text : undefined;
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}
