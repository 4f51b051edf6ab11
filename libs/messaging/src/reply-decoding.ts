import type { Msg } from '@nats-io/nats-core';
import { JetStreamApiError, JetStreamError } from '@nats-io/jetstream';
import {
  AppError,
  HEADERS,
  fromErrorBody,
  isErrorCode,
  validationError,
  type RpcDefinition,
  type RpcResponse,
} from '@orgmesh/contracts';
import { decodeJson } from './codec.js';
import { headersToRecord, replyErrorStatus } from './headers.js';

// The replies the bus's ReplyInbox receives for its own calls: RPC responses and JetStream publish acks.

/** A JetStream publish ack (`{stream, seq, duplicate?}`), or the stream's refusal as the client's error classes. */
export function publishAck(reply: Msg): { seq: number; duplicate: boolean } {
  let ack: {
    stream?: string;
    seq?: number;
    duplicate?: boolean;
    error?: { code: number; err_code: number; description: string };
  };
  try {
    ack = reply.json();
  } catch (error) {
    throw new JetStreamError('invalid ack response', { cause: error });
  }
  if (ack?.error) throw new JetStreamApiError(ack.error);
  if (!ack?.stream || typeof ack.seq !== 'number') throw new JetStreamError('invalid ack response');
  return { seq: ack.seq, duplicate: ack.duplicate === true };
}

export function decodeReply<R extends RpcDefinition>(rpc: R, reply: Msg): RpcResponse<R> {
  let headers: Record<string, string>;
  try {
    headers = headersToRecord(reply.headers);
  } catch (error) {
    throw new AppError('internal', `malformed reply from ${rpc.subject}: unreadable header block`, {
      cause: error,
    });
  }
  const status = replyErrorStatus(headers);
  if (status !== undefined) {
    let body: unknown;
    try {
      body = decodeJson(reply.data, 'error reply');
    } catch {
      body = undefined;
    }
    const headerCode = headers[HEADERS.errorCode.toLowerCase()];
    if (!hasErrorCode(body) && isErrorCode(headerCode))
      throw new AppError(headerCode, `${rpc.subject} failed with ${headerCode}`);
    throw fromErrorBody(body, status);
  }
  let body: unknown;
  try {
    body = decodeJson(reply.data, 'reply');
  } catch (error) {
    throw new AppError('internal', `malformed reply from ${rpc.subject}`, { cause: error });
  }
  const parsed = rpc.response.safeParse(body);
  if (!parsed.success) {
    const invalid = validationError(`reply from ${rpc.subject}`, parsed.error);
    throw new AppError('internal', invalid.message, { details: invalid.details });
  }
  return parsed.data as RpcResponse<R>;
}

function hasErrorCode(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const error = (body as { error?: unknown }).error;
  return typeof error === 'object' && error !== null && isErrorCode((error as { code?: unknown }).code);
}
