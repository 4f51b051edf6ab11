import { describe, expect, it } from '@jest/globals';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { AppError } from '@orgmesh/contracts';
import {
  callHeaders,
  errorReplyHeaders,
  headersToRecord,
  recordToHeaders,
  replyErrorStatus,
  sanitizeHeaderValue,
} from './headers.js';

describe('header mapping', () => {
  it('reads NATS headers as a lower-cased record, last value winning', () => {
    const h = natsHeaders();
    h.set('Nats-Msg-Id', 'e1');
    h.set('Authorization', 'Bearer x');
    h.append('x-multi', 'one');
    h.append('x-multi', 'two');
    expect(headersToRecord(h)).toEqual({ 'nats-msg-id': 'e1', authorization: 'Bearer x', 'x-multi': 'two' });
    expect(headersToRecord(undefined)).toEqual({});
  });

  it('writes a record as NATS headers, skipping empty values and flattening newlines', () => {
    const h = recordToHeaders({
      traceparent: '00-abc-def-01',
      empty: '',
      missing: undefined,
      note: 'line1\r\nline2',
    });
    expect(h?.get('traceparent')).toBe('00-abc-def-01');
    expect(h?.has('empty')).toBe(false);
    expect(h?.get('note')).toBe('line1 line2');
    expect(recordToHeaders({})).toBeUndefined();
  });

  it('carries the caller metadata in headers, never in the body', () => {
    expect(
      callHeaders({ authorization: 'Bearer t', idempotencyKey: 'k1', headers: { 'x-tenant': 'acme' } }),
    ).toEqual({
      authorization: 'Bearer t',
      'idempotency-key': 'k1',
      'x-tenant': 'acme',
    });
    expect(callHeaders()).toEqual({});
  });

  it('marks error replies with the HTTP-equivalent status and the code', () => {
    expect(errorReplyHeaders(new AppError('session_not_found', 'no such session'))).toEqual({
      'orgmesh-status': '404',
      'orgmesh-error-code': 'session_not_found',
    });
    expect(errorReplyHeaders(new AppError('validation_failed', 'bad'))['orgmesh-status']).toBe('400');
    expect(replyErrorStatus({ 'orgmesh-status': '409' })).toBe(409);
    expect(replyErrorStatus({ 'orgmesh-error-code': 'internal' })).toBe(500);
    expect(replyErrorStatus({ 'orgmesh-status': '200' })).toBeUndefined();
    expect(replyErrorStatus({})).toBeUndefined();
  });

  it('cuts long header values', () => {
    const value = sanitizeHeaderValue('x'.repeat(5000), 100);
    expect(value).toHaveLength(100);
    expect(value.endsWith('…')).toBe(true);
  });
});
