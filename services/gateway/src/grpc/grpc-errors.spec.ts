import { describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { AppError, ERROR_CODES, type ErrorCode } from '@orgmesh/contracts';
import {
  ERROR_DETAILS_BIN_TRAILER,
  ERROR_DETAILS_TRAILER,
  MAX_DETAILS_BYTES,
  MAX_STATUS_MESSAGE_CHARS,
  asciiJson,
  grpcStatusFor,
  readErrorDetails,
  toGrpcError,
} from './grpc-errors.js';

/** What grpc-js does with a status before it reaches the wire: both throw on what a header cannot hold. */
function sendable(status: grpc.StatusObject): void {
  encodeURI(status.details);
  status.metadata.toHttp2Headers();
}

const ECHOED = [
  'é',
  '\u0000',
  '\ud800',
  'x\udfffy',
  '💥',
  '\r\n',
  '\u007f',
  String.fromCharCode(...Array.from({ length: 64 }, (_, i) => (i * 97 + 13) & 255)),
];

describe('toGrpcError', () => {
  it.each(ECHOED)(
    'carries details that echo %j in trailers grpc-js can send, decoding to the same value',
    (input) => {
      const error = new AppError('forbidden', `an agent acts as itself only: names agent "${input}"`, {
        details: { agentId: input, nested: [{ v: input }] },
      });
      const status = toGrpcError(error);
      expect(() => sendable(status)).not.toThrow();
      expect(status.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(status.metadata.get('orgmesh-error-code')).toEqual(['forbidden']);
      // JSON.stringify writes a lone surrogate as an escape, so both forms give back the exact string.
      expect(readErrorDetails(status.metadata)).toEqual({ agentId: input, nested: [{ v: input }] });
      const [text] = status.metadata.get(ERROR_DETAILS_TRAILER);
      expect(text).toMatch(/^[\x20-\x7e]*$/);
      expect(JSON.parse(String(text))).toEqual({ agentId: input, nested: [{ v: input }] });
      const [bin] = status.metadata.get(ERROR_DETAILS_BIN_TRAILER);
      expect(JSON.parse((bin as Buffer).toString('utf8'))).toEqual({
        agentId: input,
        nested: [{ v: input }],
      });
    },
  );

  it('bounds the message and the details that echo a huge input', () => {
    const huge = 'é'.repeat(70_000);
    const status = toGrpcError(
      new AppError('validation_failed', `bad ${huge}`, {
        details: { issues: Array.from({ length: 500 }, (_, i) => ({ path: `f${i}`, message: huge })) },
      }),
    );
    expect(() => sendable(status)).not.toThrow();
    expect(status.details.length).toBeLessThanOrEqual(MAX_STATUS_MESSAGE_CHARS + 1);
    for (const value of [
      ...status.metadata.get(ERROR_DETAILS_TRAILER),
      ...status.metadata.get(ERROR_DETAILS_BIN_TRAILER),
    ])
      expect(value.length).toBeLessThanOrEqual(MAX_DETAILS_BYTES);
    const details = readErrorDetails(status.metadata) as { truncated: boolean; issues: unknown[] };
    expect(details.truncated).toBe(true);
    expect(details.issues.length).toBeGreaterThan(0);
  });

  it('cuts a message inside a surrogate pair without leaving a lone half', () => {
    const message = `${'a'.repeat(MAX_STATUS_MESSAGE_CHARS - 1)}💥tail`;
    const status = toGrpcError(new AppError('not_found', message));
    expect(() => encodeURI(status.details)).not.toThrow();
  });

  it('answers anything but an AppError as internal, revealing nothing', () => {
    const status = toGrpcError(new Error('secret: db password is hunter2'));
    expect(status).toMatchObject({ code: grpc.status.INTERNAL, details: 'internal error' });
    expect(status.metadata.get('orgmesh-error-code')).toEqual(['internal']);
    expect(status.metadata.get(ERROR_DETAILS_TRAILER)).toEqual([]);
  });

  it('leaves out details that are not JSON instead of failing', () => {
    const status = toGrpcError(new AppError('conflict', 'x', { details: { n: 1n } }));
    expect(status.code).toBe(grpc.status.ABORTED);
    expect(readErrorDetails(status.metadata)).toBeUndefined();
  });

  it('speaks gRPC: the method instead of the REST operation, proto field paths in message and issues', () => {
    const status = toGrpcError(
      new AppError('validation_failed', 'invalid request: path.id: Invalid UUID; body.to.agentId: Too big', {
        details: {
          issues: [
            { path: 'path.id', message: 'Invalid UUID' },
            { path: 'body.to.agentId', message: 'Too big' },
          ],
        },
      }),
      {
        method: 'orgmesh.v1.Mesh/GetTask',
        fieldPath: (path) => ({ 'path.id': 'id', 'body.to.agentId': 'to.agent_id' })[path] ?? path,
      },
    );
    expect(status.details).toBe('invalid request: id: Invalid UUID; to.agent_id: Too big');
    expect(readErrorDetails(status.metadata)).toEqual({
      issues: [
        { path: 'id', message: 'Invalid UUID' },
        { path: 'to.agent_id', message: 'Too big' },
      ],
    });
    const forbidden = toGrpcError(
      new AppError('forbidden', 'PUT /v1/registry requires admin; the caller is agent'),
      {
        method: 'orgmesh.v1.Registry/LoadRegistry',
        words: [['PUT /v1/registry', 'orgmesh.v1.Registry/LoadRegistry']],
      },
    );
    expect(forbidden.details).toBe('orgmesh.v1.Registry/LoadRegistry requires admin; the caller is agent');
  });
});

describe('asciiJson', () => {
  it('escapes everything outside printable ASCII and stays the same JSON value', () => {
    const value = { s: 'é💥\u007f\u0001\ud800' };
    const text = asciiJson(JSON.stringify(value));
    expect(text).toMatch(/^[\x20-\x7e]*$/);
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('grpcStatusFor', () => {
  it('gives every orgmesh code its gRPC status', () => {
    const { status } = grpc;
    const expected: Record<ErrorCode, grpc.status> = {
      validation_failed: status.INVALID_ARGUMENT,
      invalid_cursor: status.INVALID_ARGUMENT,
      method_not_allowed: status.UNIMPLEMENTED,
      unauthenticated: status.UNAUTHENTICATED,
      forbidden: status.PERMISSION_DENIED,
      policy_denied: status.PERMISSION_DENIED,
      not_found: status.NOT_FOUND,
      session_not_found: status.NOT_FOUND,
      task_not_found: status.NOT_FOUND,
      agent_not_found: status.NOT_FOUND,
      profile_not_found: status.NOT_FOUND,
      user_not_found: status.NOT_FOUND,
      session_illegal_transition: status.FAILED_PRECONDITION,
      task_illegal_transition: status.FAILED_PRECONDITION,
      privacy_strict_refused: status.FAILED_PRECONDITION,
      conflict: status.ABORTED,
      approval_already_decided: status.ABORTED,
      payload_too_large: status.RESOURCE_EXHAUSTED,
      rate_limited: status.RESOURCE_EXHAUSTED,
      unavailable: status.UNAVAILABLE,
      timeout: status.DEADLINE_EXCEEDED,
      internal: status.INTERNAL,
    };
    expect(Object.fromEntries(ERROR_CODES.map((code) => [code, grpcStatusFor(code)]))).toEqual(expected);
  });
});
