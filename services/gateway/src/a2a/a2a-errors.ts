import {
  A2AError,
  RequestMalformedError,
  TaskNotCancelableError,
  TaskNotFoundError,
  UnsupportedOperationError,
} from '@a2a-js/sdk/errors';
import { AppError } from '@orgmesh/contracts';

/**
 * JSON-RPC codes for what A2A names no error for, in the range JSON-RPC leaves to servers
 * (-32000..-32099) and away from A2A's own (-32001..-32009, which may grow).
 */
export const ORGMESH_A2A_CODES = {
  /** The token may not do this: the gateway's coarse rule, the mesh's party rule, or policy (naming its rule). */
  permissionDenied: -32040,
  /** The token expired or was revoked while the request ran. */
  unauthenticated: -32041,
  /** The mesh is unreachable, timed out or throttled: retry later. */
  unavailable: -32050,
} as const;

/**
 * An A2A error with its own JSON-RPC code. The SDK's JSON-RPC handler writes `envelopeCode` for an
 * error whose `transport` is `jsonrpc`, so orgmesh's codes pass through it unchanged.
 */
export class OrgmeshA2AError extends A2AError {
  readonly transport = 'jsonrpc' as const;
  override readonly reason: string;

  constructor(
    readonly envelopeCode: number,
    reason: string,
    message: string,
    metadata?: Record<string, string>,
  ) {
    super({ message, metadata });
    this.reason = reason;
  }
}

function stringDetails(details: Record<string, unknown> | undefined): Record<string, string> | undefined {
  if (!details) return undefined;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(details)) {
    if (typeof value === 'string') out[key] = value;
    else if (value !== undefined && value !== null) out[key] = JSON.stringify(value);
  }
  return out;
}

/**
 * A mesh (or gateway) error as the A2A error a client understands. `notCancelable` turns an illegal
 * transition into TaskNotCancelable (on cancel); elsewhere it is an unsupported operation.
 */
export function toA2AError(error: unknown, options: { notCancelable?: boolean } = {}): Error {
  if (error instanceof A2AError) return error;
  if (!(error instanceof AppError)) return error instanceof Error ? error : new Error(String(error));
  const metadata = { code: error.code, ...stringDetails(error.details) };
  switch (error.code) {
    case 'task_not_found':
    case 'not_found':
      return new TaskNotFoundError({ message: error.message, metadata });
    case 'task_illegal_transition':
      return options.notCancelable
        ? new TaskNotCancelableError({ message: error.message, metadata })
        : new UnsupportedOperationError({ message: error.message, metadata });
    case 'conflict':
      // A task that kept changing under a write is worth retrying; a messageId (the idempotency key)
      // already used for another message is the client's mistake.
      if (error.details?.['id'] !== undefined) {
        return new OrgmeshA2AError(ORGMESH_A2A_CODES.unavailable, 'UNAVAILABLE', error.message, metadata);
      }
      return new RequestMalformedError({ message: error.message, metadata });
    case 'validation_failed':
    case 'invalid_cursor':
    case 'payload_too_large':
    case 'agent_not_found':
      return new RequestMalformedError({ message: error.message, metadata });
    case 'forbidden':
    case 'policy_denied':
    case 'privacy_strict_refused':
      return new OrgmeshA2AError(
        ORGMESH_A2A_CODES.permissionDenied,
        'PERMISSION_DENIED',
        error.message,
        metadata,
      );
    case 'unauthenticated':
      return new OrgmeshA2AError(
        ORGMESH_A2A_CODES.unauthenticated,
        'UNAUTHENTICATED',
        error.message,
        metadata,
      );
    case 'unavailable':
    case 'timeout':
    case 'rate_limited':
      return new OrgmeshA2AError(ORGMESH_A2A_CODES.unavailable, 'UNAVAILABLE', error.message, metadata);
    default:
      // No internal message leaves the gateway (as at REST).
      return internalError();
  }
}

/** The message of an internal error of ours (the handler's), as it leaves: nothing of the cause. */
export const INTERNAL_MESSAGE = 'internal error';

/**
 * An error the handler did not expect (a bug), as the transports see it: -32603 with no message of
 * its own. Any other -32603 the SDK's transport answers came from its own reading of the request's
 * params (a shape it could not translate), which is the client's input, not our fault.
 */
export function internalError(): OrgmeshA2AError {
  return new OrgmeshA2AError(-32603, 'INTERNAL_ERROR', INTERNAL_MESSAGE);
}
