import type { Duplex } from 'node:stream';

/** What Node's HTTP parser refused, as an HTTP status and an orgmesh error code. */
export interface ClientErrorKind {
  readonly status: 400 | 408 | 431;
  readonly code: 'validation_failed' | 'timeout' | 'payload_too_large';
  /** The parser's own code (`HPE_*`): a constant, never input, so it may be named in the answer. */
  readonly parserCode: string | undefined;
}

const REASONS: Record<ClientErrorKind['status'], string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

export function classifyClientError(error: { code?: unknown }): ClientErrorKind {
  const parserCode =
    typeof error.code === 'string' && /^HPE_[A-Z_]+$/.test(error.code) ? error.code : undefined;
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      // No code maps to 431 by itself: the head is too large in the sense `payload_too_large` means.
      return { status: 431, code: 'payload_too_large', parserCode };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADER_TIMEOUT':
      return { status: 408, code: 'timeout', parserCode };
    default:
      return { status: 400, code: 'validation_failed', parserCode };
  }
}

/**
 * Node's `clientError` handler for every orgmesh HTTP edge: answers the refused request with the
 * body `render` makes in the edge's own error shape and closes the connection (the parser's state is
 * unknown after an error). Nothing is written when the peer is gone or a response on this socket has
 * already started (raw bytes would corrupt it); the raw packet is never echoed.
 */
export function answerClientError(
  error: Error & { code?: unknown },
  socket: Duplex,
  render: (kind: ClientErrorKind) => { contentType: string; body: string },
): void {
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const kind = classifyClientError(error);
  const { contentType, body } = render(kind);
  socket.end(
    `HTTP/1.1 ${kind.status} ${REASONS[kind.status]}\r\n` +
      `Content-Type: ${contentType}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
