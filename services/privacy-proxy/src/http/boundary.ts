import type { Duplex } from 'node:stream';
import { answerClientError as answerRefusedRequest, type ClientErrorKind } from '@orgmesh/telemetry';

const MESSAGES: Record<ClientErrorKind['status'], string> = {
  400: 'the request is not valid HTTP/1.1',
  408: 'the request was not received in time',
  431: 'the request line and headers exceed the server limit',
};

/**
 * The body for a request Node's HTTP parser refused before the proxy knew which API it was for. One
 * shape both SDKs read: Anthropic's envelope (`type: "error"`, `error.type`, `error.message`), which
 * OpenAI's client also reads (`error.message`, `error.type`, `error.code`).
 */
export function clientErrorBody(kind: ClientErrorKind): string {
  return JSON.stringify({
    type: 'error',
    error: {
      type: 'invalid_request_error',
      message: MESSAGES[kind.status],
      code: kind.code,
      param: null,
      ...(kind.parserCode ? { parser_code: kind.parserCode } : {}),
    },
  });
}

/** Node's `clientError` handler of the proxy: the refusal in the providers' JSON shape (libs/telemetry answers). */
export function answerClientError(error: Error & { code?: unknown }, socket: Duplex): void {
  answerRefusedRequest(error, socket, (kind) => ({
    contentType: 'application/json',
    body: clientErrorBody(kind),
  }));
}
