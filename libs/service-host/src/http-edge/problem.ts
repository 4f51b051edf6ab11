import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, httpStatusFor, isRetryable, type ErrorCode } from '@orgmesh/contracts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * RFC 9457 problem details with orgmesh's stable `code` and the error's details as extension
 * members: the one error shape of every orgmesh REST edge (the gateway's, documented in its OpenAPI).
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  [extension: string]: unknown;
}

const TITLES: Record<ErrorCode, string> = {
  validation_failed: 'Invalid request',
  invalid_cursor: 'Invalid cursor',
  method_not_allowed: 'Method not allowed',
  unauthenticated: 'Authentication required',
  forbidden: 'Forbidden',
  not_found: 'Not found',
  session_not_found: 'Session not found',
  task_not_found: 'Task not found',
  agent_not_found: 'Agent not found',
  profile_not_found: 'Profile not found',
  user_not_found: 'User not found',
  session_illegal_transition: 'Illegal session transition',
  task_illegal_transition: 'Illegal task transition',
  approval_already_decided: 'Approval already decided',
  conflict: 'Conflict',
  payload_too_large: 'Payload too large',
  rate_limited: 'Too many requests',
  policy_denied: 'Refused by policy',
  privacy_strict_refused: 'Refused by the privacy policy',
  unavailable: 'Service unavailable',
  timeout: 'Upstream timeout',
  internal: 'Internal error',
};

const RESERVED = new Set(['type', 'title', 'status', 'detail', 'code', 'instance']);

/** The `type` URI of a problem: stable per code. */
export function problemType(code: ErrorCode): string {
  return `urn:orgmesh:problem:${code}`;
}

export function problemTitle(code: ErrorCode): string {
  return TITLES[code];
}

/** Seconds a client should wait before retrying a retryable error. */
export function retryAfterSec(error: AppError): number | undefined {
  const explicit = error.details?.['retryAfterSec'];
  if (typeof explicit === 'number' && Number.isFinite(explicit) && explicit > 0) return Math.ceil(explicit);
  return isRetryable(error.code) ? 1 : undefined;
}

/**
 * Turns any error into problem details. An AppError keeps its code, message and details (details
 * become top-level members, e.g. `currentState`, `issues`, `limitBytes`); anything else is an
 * `internal` error whose message is not exposed (it may quote the input).
 */
export function toProblem(error: unknown, instance?: string): Problem {
  const app = error instanceof AppError ? error : new AppError('internal', 'internal error');
  const problem: Problem = {
    type: problemType(app.code),
    title: TITLES[app.code],
    status: httpStatusFor(app.code),
    detail: app.message,
    code: app.code,
  };
  if (instance) problem.instance = instance;
  for (const [key, value] of Object.entries(app.details ?? {})) {
    if (!RESERVED.has(key)) problem[key] = value;
  }
  return problem;
}

/**
 * Answers `error` as problem+json (see toProblem) with the headers its code calls for:
 * `retry-after` on a retryable error, `www-authenticate` on `unauthenticated` (naming an invalid
 * token when one was sent), `connection: close` on `payload_too_large` (the rest of the body is
 * not read). A HEAD request gets the headers only. Returns the problem sent.
 */
export function sendProblem(
  req: IncomingMessage,
  res: ServerResponse,
  error: unknown,
  instance?: string,
): Problem {
  const problem = toProblem(error, instance);
  const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE };
  if (error instanceof AppError) {
    const retry = retryAfterSec(error);
    if (retry !== undefined) headers['retry-after'] = String(retry);
    if (error.code === 'unauthenticated') {
      headers['www-authenticate'] = req.headers.authorization
        ? 'Bearer realm="orgmesh", error="invalid_token"'
        : 'Bearer realm="orgmesh"';
    }
    if (error.code === 'payload_too_large') headers['connection'] = 'close';
  }
  const text = JSON.stringify(problem);
  headers['content-length'] = String(Buffer.byteLength(text));
  res.writeHead(problem.status, headers);
  res.end(req.method === 'HEAD' ? undefined : text);
  return problem;
}
