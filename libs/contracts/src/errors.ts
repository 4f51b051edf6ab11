import type { z } from 'zod';

/**
 * Stable error codes. Domain code throws AppError with one of these; only the edges
 * (NATS transport, HTTP gateway) turn them into a status, through the exhaustive maps below.
 */
export const ERROR_CODES = [
  'validation_failed',
  'invalid_cursor',
  'method_not_allowed',
  'unauthenticated',
  'forbidden',
  'not_found',
  'session_not_found',
  'task_not_found',
  'agent_not_found',
  'profile_not_found',
  'user_not_found',
  'session_illegal_transition',
  'task_illegal_transition',
  /** A person decides an approval they (or the person they stand in for) already decided (issue 23). */
  'approval_already_decided',
  'conflict',
  'payload_too_large',
  'rate_limited',
  'policy_denied',
  'privacy_strict_refused',
  'unavailable',
  'timeout',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** An error with a stable code, a human message, optional structured details and a cause. */
export class AppError extends Error {
  override readonly name: string = 'AppError';
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  /** Whether a caller may retry the same request later and expect a different outcome. */
  get retryable(): boolean {
    return isRetryable(this.code);
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export function isRetryable(code: ErrorCode): boolean {
  return code === 'unavailable' || code === 'timeout' || code === 'rate_limited';
}

/** The HTTP statuses an orgmesh error is answered with (httpStatusFor). */
export type ErrorHttpStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 422 | 429 | 500 | 503 | 504;

/**
 * The one HTTP status for each code; NATS error replies carry the same number in the `Status`
 * header, and the gateway's gRPC status follows from it (grpcStatusFor), so a code is classified here once.
 */
export function httpStatusFor(code: ErrorCode): ErrorHttpStatus {
  switch (code) {
    case 'validation_failed':
    case 'invalid_cursor':
      return 400;
    case 'unauthenticated':
      return 401;
    case 'forbidden':
    case 'policy_denied':
      return 403;
    case 'not_found':
    case 'session_not_found':
    case 'task_not_found':
    case 'agent_not_found':
    case 'profile_not_found':
    case 'user_not_found':
      return 404;
    case 'session_illegal_transition':
    case 'task_illegal_transition':
    case 'approval_already_decided':
    case 'conflict':
      return 409;
    case 'method_not_allowed':
      return 405;
    case 'payload_too_large':
      return 413;
    case 'privacy_strict_refused':
      return 422;
    case 'rate_limited':
      return 429;
    case 'internal':
      return 500;
    case 'unavailable':
      return 503;
    case 'timeout':
      return 504;
  }
}

/** Header names used on the wire for errors and metadata. */
export const HEADERS = {
  msgId: 'Nats-Msg-Id',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  authorization: 'authorization',
  idempotencyKey: 'idempotency-key',
  errorStatus: 'orgmesh-status',
  errorCode: 'orgmesh-error-code',
  causationId: 'orgmesh-causation-id',
} as const;

export interface ValidationIssue {
  path: string;
  message: string;
}

/** Turns zod issues into `validation_failed`, naming every offending field path. */
export function validationError(what: string, error: z.ZodError): AppError {
  const issues: ValidationIssue[] = error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }));
  const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  return new AppError('validation_failed', `invalid ${what}: ${summary}`, { details: { issues } });
}

/** Parses with a schema or throws a typed validation error naming the field paths. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(what, result.error);
  return result.data;
}

/** The body of an error reply on NATS and in problem+json (as `code`/`message`). */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

export function toErrorBody(error: unknown): ErrorBody {
  if (error instanceof AppError) return { error: error.toJSON() };
  return { error: { code: 'internal', message: 'internal error' } };
}

export function fromErrorBody(body: unknown, fallbackStatus?: number): AppError {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const err = (body as { error: unknown }).error;
    if (typeof err === 'object' && err !== null) {
      const { code, message, details } = err as { code?: unknown; message?: unknown; details?: unknown };
      if (isErrorCode(code)) {
        return new AppError(code, typeof message === 'string' ? message : code, {
          details: typeof details === 'object' && details !== null ? (details as Record<string, unknown>) : undefined,
        });
      }
    }
  }
  return new AppError('internal', `malformed error reply${fallbackStatus ? ` (status ${fallbackStatus})` : ''}`);
}
