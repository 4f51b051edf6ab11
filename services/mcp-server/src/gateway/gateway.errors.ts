import { problemFields } from '@orgmesh/service-host/http-edge';

/**
 * An error answer of the gateway (RFC 9457 problem+json with orgmesh's stable `code`), or a failure
 * to reach it. `code` is the gateway's code verbatim, so MCP clients see the same codes as REST ones.
 */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';

  constructor(
    readonly code: string,
    message: string,
    /** The HTTP status; 0 when the gateway was not reached. */
    readonly status: number,
    /** The problem's extension members (e.g. `currentState`, `allowedEvents`, `rule`, `issues`). */
    readonly details: Record<string, unknown> = {},
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** Builds the error of a non-2xx gateway answer from its body (problem+json, or anything else). */
export function errorFromResponse(status: number, body: unknown): GatewayError {
  const problem = problemFields(body, `gateway answered ${status}`);
  return new GatewayError(problem.code ?? codeForStatus(status), problem.message, status, problem.extensions);
}

/** The closest orgmesh code for a status without a problem body (a proxy in between, say). */
export function codeForStatus(status: number): string {
  if (status === 400) return 'validation_failed';
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 413) return 'payload_too_large';
  if (status === 429) return 'rate_limited';
  if (status === 503) return 'unavailable';
  if (status === 504) return 'timeout';
  return 'internal';
}
