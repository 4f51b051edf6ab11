import type { Duplex } from 'node:stream';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/**
 * The body for a request Node's HTTP parser refused before the proxy knew which API it was for. One
 * shape both SDKs read: Anthropic's envelope (`type: "error"`, `error.type`, `error.message`), which
 * OpenAI's client also reads (`error.message`, `error.type`, `error.code`). The parser's own code is a
 * constant, never input; the raw packet is never echoed.
 */
export function clientErrorBody(error: { code?: unknown }): { status: number; body: string } {
  const parserCode =
    typeof error.code === 'string' && /^HPE_[A-Z_]+$/.test(error.code) ? error.code : undefined;
  const build = (status: number, code: string, message: string) => ({
    status,
    body: JSON.stringify({
      type: 'error',
      error: {
        type: 'invalid_request_error',
        message,
        code,
        param: null,
        ...(parserCode ? { parser_code: parserCode } : {}),
      },
    }),
  });
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return build(431, 'payload_too_large', 'the request line and headers exceed the server limit');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADER_TIMEOUT':
      return build(408, 'timeout', 'the request was not received in time');
    default:
      return build(400, 'validation_failed', 'the request is not valid HTTP/1.1');
  }
}

/**
 * Node's `clientError` handler: answers with a JSON body and closes the connection (the parser's state
 * is unknown after an error). Nothing is written when the peer is gone or a response on this socket
 * has already started (raw bytes would corrupt it).
 */
export function answerClientError(error: Error & { code?: unknown }, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const { status, body } = clientErrorBody(error);
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Bad Request'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
