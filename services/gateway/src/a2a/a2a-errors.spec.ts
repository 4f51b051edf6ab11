import { describe, expect, it } from '@jest/globals';
import {
  RequestMalformedError,
  TaskNotCancelableError,
  TaskNotFoundError,
  UnsupportedOperationError,
} from '@a2a-js/sdk/errors';
import { JsonRpcTransportHandler } from '@a2a-js/sdk/server';
import { AppError } from '@orgmesh/contracts';
import { INTERNAL_MESSAGE, ORGMESH_A2A_CODES, toA2AError } from './a2a-errors.js';

const code = (error: Error) => JsonRpcTransportHandler.mapToJSONRPCError(error).code;

describe('mesh errors as A2A errors', () => {
  it('maps the mesh codes to A2A errors and their JSON-RPC codes', () => {
    expect(toA2AError(new AppError('task_not_found', 'task x not found'))).toBeInstanceOf(TaskNotFoundError);
    expect(code(toA2AError(new AppError('task_not_found', 'x')))).toBe(-32001);
    const illegal = new AppError('task_illegal_transition', 'already completed');
    expect(toA2AError(illegal, { notCancelable: true })).toBeInstanceOf(TaskNotCancelableError);
    expect(code(toA2AError(illegal, { notCancelable: true }))).toBe(-32002);
    expect(toA2AError(illegal)).toBeInstanceOf(UnsupportedOperationError);
    expect(toA2AError(new AppError('validation_failed', 'to: unknown'))).toBeInstanceOf(
      RequestMalformedError,
    );
    expect(code(toA2AError(new AppError('validation_failed', 'x')))).toBe(-32602);
  });

  it("gives orgmesh's own codes to refusals A2A names no error for, the message kept", () => {
    const denied = toA2AError(
      new AppError('policy_denied', 'denied by rule legal->finance', { details: { rule: 'r1' } }),
    );
    expect(JsonRpcTransportHandler.mapToJSONRPCError(denied)).toMatchObject({
      code: ORGMESH_A2A_CODES.permissionDenied,
      message: 'denied by rule legal->finance',
    });
    expect(code(toA2AError(new AppError('forbidden', 'x')))).toBe(ORGMESH_A2A_CODES.permissionDenied);
    expect(code(toA2AError(new AppError('unauthenticated', 'x')))).toBe(ORGMESH_A2A_CODES.unauthenticated);
    expect(code(toA2AError(new AppError('timeout', 'x')))).toBe(ORGMESH_A2A_CODES.unavailable);
    // A task that kept changing is retryable; a reused messageId is the client's mistake.
    expect(code(toA2AError(new AppError('conflict', 'kept changing', { details: { id: 't' } })))).toBe(
      ORGMESH_A2A_CODES.unavailable,
    );
    expect(code(toA2AError(new AppError('conflict', 'idempotency key reused')))).toBe(-32602);
  });

  it('lets no internal message out', () => {
    const mapped = JsonRpcTransportHandler.mapToJSONRPCError(
      toA2AError(new AppError('internal', 'db password wrong')),
    );
    expect(mapped).toEqual({ code: -32603, message: INTERNAL_MESSAGE });
  });
});
