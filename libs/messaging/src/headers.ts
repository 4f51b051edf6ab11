import { headers as natsHeaders, type MsgHdrs } from '@nats-io/nats-core';
import { AppError, HEADERS, httpStatusFor } from '@orgmesh/contracts';

/** Caller metadata for one request: it rides in headers, never in the body. */
export interface CallOptions {
  /** The caller's JWT (`Bearer …`), forwarded so the callee verifies it itself. */
  authorization?: string;
  idempotencyKey?: string;
  headers?: Record<string, string>;
  /** How long to wait for the reply; default 5000 ms. */
  timeoutMs?: number;
}

const MAX_HEADER_VALUE = 1024;

/** Header values cannot hold CR/LF; long values (error messages) are cut so a reply stays small. */
export function sanitizeHeaderValue(value: string, max = MAX_HEADER_VALUE): string {
  const flat = value.replace(/[\r\n]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * NATS headers as a plain record with lower-cased names (`Nats-Msg-Id` → `nats-msg-id`), so
 * handlers read `ctx.headers['authorization']` whatever casing the sender used. Last value wins.
 */
export function headersToRecord(hdrs: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!hdrs) return out;
  for (const [key, values] of hdrs) {
    const last = values[values.length - 1];
    if (last !== undefined) out[key.toLowerCase()] = last;
  }
  return out;
}

/** A record as NATS headers; undefined for an empty record (a message without a header block is smaller). */
export function recordToHeaders(record: Record<string, string | undefined>): MsgHdrs | undefined {
  let hdrs: MsgHdrs | undefined;
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined || value === '') continue;
    hdrs ??= natsHeaders();
    hdrs.set(key, sanitizeHeaderValue(value, 8192));
  }
  return hdrs;
}

/** The headers of an outgoing request: authorization, idempotency key and any extra ones. */
export function callHeaders(opts: CallOptions = {}): Record<string, string> {
  const out: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.authorization) out[HEADERS.authorization] = opts.authorization;
  if (opts.idempotencyKey) out[HEADERS.idempotencyKey] = opts.idempotencyKey;
  return out;
}

/** Headers marking an error reply: the status (same number as HTTP) and the stable code. */
export function errorReplyHeaders(error: AppError): Record<string, string> {
  return {
    [HEADERS.errorStatus]: String(httpStatusFor(error.code)),
    [HEADERS.errorCode]: error.code,
  };
}

/** The error status of a reply, if it is an error reply (status ≥ 400). */
export function replyErrorStatus(record: Record<string, string>): number | undefined {
  const raw = record[HEADERS.errorStatus.toLowerCase()];
  if (raw === undefined) return record[HEADERS.errorCode.toLowerCase()] ? 500 : undefined;
  const status = Number(raw);
  return Number.isFinite(status) && status >= 400 ? status : undefined;
}

/** Dead-letter headers (added to the original message's headers). */
export const DLQ_HEADERS = {
  reason: 'orgmesh-dlq-reason',
  error: 'orgmesh-dlq-error',
  originalSubject: 'orgmesh-dlq-original-subject',
  consumer: 'orgmesh-dlq-consumer',
  deliveryCount: 'orgmesh-dlq-delivery-count',
  stream: 'orgmesh-dlq-stream',
  streamSeq: 'orgmesh-dlq-stream-seq',
} as const;

/** Why a message was dead-lettered. */
export type DeadLetterReason =
  'invalid_json' | 'validation_failed' | 'max_deliver_exceeded' | 'non_retryable_error';
