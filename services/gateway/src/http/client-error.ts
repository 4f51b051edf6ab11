import type { Duplex } from 'node:stream';
import type { ErrorCode } from '@orgmesh/contracts';
import { PROBLEM_CONTENT_TYPE, problemType, type Problem } from './problem.js';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/**
 * The problem for a request Node's HTTP parser refused before any handler saw it. The parser's own
 * code (`HPE_*`) is a constant, never input, so it may be named; the raw packet is never echoed.
 */
export function clientErrorProblem(error: { code?: unknown }): Problem {
  const parserCode =
    typeof error.code === 'string' && /^HPE_[A-Z_]+$/.test(error.code) ? error.code : undefined;
  const build = (status: number, code: ErrorCode, title: string, detail: string): Problem => ({
    type: problemType(code),
    title,
    status,
    detail,
    code,
    ...(parserCode ? { parserCode } : {}),
  });
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      // No code maps to 431 by itself: the body is too large in the sense `payload_too_large` means.
      return build(
        431,
        'payload_too_large',
        'Request header fields too large',
        'the request line and headers exceed the server limit (Node: 16 KB unless configured)',
      );
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADER_TIMEOUT':
      return build(408, 'timeout', 'Request timeout', 'the request was not received in time');
    default:
      return build(
        400,
        'validation_failed',
        'Invalid request',
        'the request is not valid HTTP/1.1 (a control character in a header, a bad request line or framing)',
      );
  }
}

/**
 * Node's `clientError` handler: answers the refused request with a problem+json body and closes the
 * connection (the parser's state is unknown after an error). Nothing is written when the peer is gone
 * or a response on this socket has already started (raw bytes would corrupt it).
 */
export function answerClientError(error: Error & { code?: unknown }, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const problem = clientErrorProblem(error);
  const body = JSON.stringify(problem);
  socket.end(
    `HTTP/1.1 ${problem.status} ${REASONS[problem.status] ?? 'Bad Request'}\r\n` +
      `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
