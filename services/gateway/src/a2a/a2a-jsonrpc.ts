import type { IncomingMessage, ServerResponse } from 'node:http';
import { JsonRpcTransportHandler, ServerCallContext, type A2ARequestHandler } from '@a2a-js/sdk/server';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import { A2A_ERROR_CODE } from '@a2a-js/sdk/errors';
import { sendJson } from '@orgmesh/service-host/http-edge';
import type { Caller } from '../auth/caller.js';
import { keepAlive, writeEventStreamHead, writeFrame } from '../http/sse.js';
import { A2A_VERSIONS } from './agent-cards.js';
import { INTERNAL_MESSAGE } from './a2a-errors.js';
import { CALLER_KEY, SIGNAL_KEY, TARGET_KEY, type A2ATarget } from './a2a-handler.js';

type Envelope = {
  jsonrpc: string;
  id: string | number | null;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
};

export interface JsonRpcExchange {
  req: IncomingMessage;
  res: ServerResponse;
  caller: Caller;
  signal: AbortSignal;
  body: Buffer;
  handler: A2ARequestHandler;
  target: A2ATarget;
  heartbeatMs: number;
}

function errorEnvelope(id: Envelope['id'], code: number, message: string): Envelope {
  return { jsonrpc: '2.0', id, error: { code, message } };
}

function idOf(value: unknown): Envelope['id'] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id)) ? id : null;
}

/**
 * Checks what the SDK's handler reads loosely, with JSON-RPC 2.0's own codes: a body that is not
 * JSON is a parse error (-32700), one that is not a request object an invalid request (-32600). The
 * SDK answers both as invalid params (-32602); A2A's spec uses JSON-RPC's codes.
 */
function envelopeProblem(body: unknown): string | undefined {
  if (Array.isArray(body)) return 'batch requests are not supported';
  if (typeof body !== 'object' || body === null) return 'the request must be a JSON-RPC 2.0 request object';
  const request = body as Record<string, unknown>;
  if (request['jsonrpc'] !== '2.0') return 'jsonrpc must be "2.0"';
  if (typeof request['method'] !== 'string' || !request['method']) return 'method must be a non-empty string';
  if ('id' in request) {
    const id = request['id'];
    if (!(typeof id === 'string' || id === null || (typeof id === 'number' && Number.isInteger(id)))) {
      return 'id must be a string, an integer or null';
    }
  }
  return undefined;
}

/**
 * The protocol version a request speaks: its `A2A-Version` header; without one, a v0.3 method name
 * (`message/send`) is v0.3 and a v1.0 one (`SendMessage`) is v1.0, so curl needs no header.
 */
function versionOf(req: IncomingMessage, method: string): string {
  const header = req.headers['a2a-version'];
  const value = Array.isArray(header) ? header[0] : header;
  if (value && value.trim()) return value.trim();
  return method.includes('/') ? '0.3' : '1.0';
}

function isAsyncIterable(value: unknown): value is AsyncGenerator<Envelope, void, undefined> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown })?.[Symbol.asyncIterator] === 'function';
}

/**
 * One JSON-RPC exchange on an A2A endpoint, handed to the SDK's transport handler (v1.0, or its v0.3
 * compat handler) over our node:http server: a JSON answer, or for SendStreamingMessage and
 * SubscribeToTask (`message/stream`, `tasks/resubscribe`) server-sent events, one JSON-RPC response
 * per event, with keep-alive comments while the task is quiet.
 */
export async function serveJsonRpc(exchange: JsonRpcExchange): Promise<void> {
  const { res } = exchange;
  const request = readRequest(exchange);
  if (!request) return;
  const { answer, mapError } = await handOver(exchange, request);
  const failure = (error: unknown): Envelope =>
    scrub({ jsonrpc: '2.0', id: request.id, error: mapError(error) as Envelope['error'] });

  if (!isAsyncIterable(answer)) {
    sendEnvelope(res, scrub(answer));
    return;
  }
  const iterator = answer[Symbol.asyncIterator]();
  let first: IteratorResult<Envelope, void>;
  try {
    first = await iterator.next();
  } catch (error) {
    // Refused before the stream started (unknown task, policy, bad message): a plain JSON answer.
    sendEnvelope(res, failure(error));
    return;
  }
  await streamEvents(exchange, iterator, first, failure);
}

/** A request that passed the envelope checks: its body, its id and the protocol version it speaks. */
interface CheckedRequest {
  body: Record<string, unknown>;
  id: Envelope['id'];
  version: string;
}

/**
 * Parses and checks the request before the SDK sees it: not JSON (-32700), not a request object
 * (-32600), a protocol version we do not speak. Undefined when refused (the error answer is sent).
 */
function readRequest(exchange: JsonRpcExchange): CheckedRequest | undefined {
  const { req, res } = exchange;
  let body: unknown;
  try {
    body = JSON.parse(exchange.body.toString('utf8'));
  } catch {
    sendJson(res, 200, errorEnvelope(null, A2A_ERROR_CODE.PARSE_ERROR, 'Parse error: the body is not JSON'));
    return undefined;
  }
  const problem = envelopeProblem(body);
  if (problem) {
    sendJson(
      res,
      200,
      errorEnvelope(idOf(body), A2A_ERROR_CODE.INVALID_REQUEST, `Invalid Request: ${problem}`),
    );
    return undefined;
  }
  const request = body as { id?: Envelope['id']; method: string };
  const id = request.id ?? null;
  const version = versionOf(req, request.method);
  if (!(A2A_VERSIONS as readonly string[]).includes(version)) {
    sendJson(
      res,
      200,
      errorEnvelope(
        id,
        A2A_ERROR_CODE.VERSION_NOT_SUPPORTED,
        `A2A version ${JSON.stringify(version.slice(0, 20))} is not supported; supported: ${A2A_VERSIONS.join(', ')}`,
      ),
    );
    return undefined;
  }
  return { body: body as Record<string, unknown>, id, version };
}

/**
 * Hands the request to the SDK's transport of its version, with the caller, the abort signal and
 * the target in the call's state (read by the mesh handler). Returns the SDK's answer and how that
 * version maps an error to a JSON-RPC error.
 */
async function handOver(
  exchange: JsonRpcExchange,
  request: CheckedRequest,
): Promise<{
  answer: Envelope | AsyncGenerator<Envelope, void, undefined>;
  mapError: (error: unknown) => unknown;
}> {
  const { caller, signal, handler } = exchange;
  const legacy = request.version === '0.3';
  const context = new ServerCallContext({
    requestedVersion: request.version,
    state: new Map<string, unknown>([
      [CALLER_KEY, caller],
      [SIGNAL_KEY, signal],
      [TARGET_KEY, exchange.target],
    ]),
  });
  const transport = legacy
    ? new LegacyJsonRpcTransportHandler(handler)
    : new JsonRpcTransportHandler(handler);
  const mapError = (error: unknown) =>
    legacy
      ? LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError(error)
      : JsonRpcTransportHandler.mapToJSONRPCError(error);
  const answer = (await transport.handle(request.body, context)) as
    Envelope | AsyncGenerator<Envelope, void, undefined>;
  return { answer, mapError };
}

/** A JSON answer: HTTP 500 for our internal error, 200 for every other JSON-RPC answer. */
function sendEnvelope(res: ServerResponse, envelope: Envelope): void {
  sendJson(res, envelope.error?.code === A2A_ERROR_CODE.INTERNAL_ERROR ? 500 : 200, envelope);
}

/**
 * The stream's events as server-sent events from its first one on, with keep-alive comments while
 * the task is quiet, until the stream ends or the client goes; a failure mid-stream is its last
 * event (`event: error`). The SDK's iterator is always returned, so its subscription ends.
 */
async function streamEvents(
  exchange: JsonRpcExchange,
  iterator: AsyncIterator<Envelope, void, undefined>,
  first: IteratorResult<Envelope, void>,
  failure: (error: unknown) => Envelope,
): Promise<void> {
  const { res, signal } = exchange;
  writeEventStreamHead(res, 'text/event-stream');
  const heartbeat = keepAlive(res, exchange.heartbeatMs);
  try {
    if (!first.done) await writeFrame(res, `data: ${JSON.stringify(first.value)}\n\n`);
    for (;;) {
      if (signal.aborted) break;
      const next = await iterator.next();
      if (next.done) break;
      await writeFrame(res, `data: ${JSON.stringify(next.value)}\n\n`);
    }
  } catch (error) {
    await writeFrame(res, `event: error\ndata: ${JSON.stringify(failure(error))}\n\n`);
  } finally {
    clearInterval(heartbeat);
    await iterator.return?.(undefined).catch(() => undefined);
    if (!res.writableEnded) res.end();
  }
}

/**
 * A -32603 of ours (the guarded handler's, already logged) stays an internal error (HTTP 500). Any
 * other -32603 is the SDK's transport failing to read the request's params (a shape it could not
 * translate, e.g. v0.3 `tasks/pushNotificationConfig/set` without its config): the client's input,
 * answered as invalid params, without the SDK's message (it may quote internals).
 */
function scrub(envelope: Envelope): Envelope {
  if (envelope.error?.code !== A2A_ERROR_CODE.INTERNAL_ERROR || envelope.error.message === INTERNAL_MESSAGE) {
    return envelope;
  }
  return {
    ...envelope,
    error: {
      code: A2A_ERROR_CODE.INVALID_PARAMS,
      message: 'Invalid params: they do not have the shape of the method',
    },
  };
}
