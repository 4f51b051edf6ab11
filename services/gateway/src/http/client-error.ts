import type { Duplex } from 'node:stream';
import { answerClientError as answerRefusedRequest, type ClientErrorKind } from '@orgmesh/telemetry';
import { PROBLEM_CONTENT_TYPE, problemType, type Problem } from '@orgmesh/service-host/http-edge';

const WORDING: Record<ClientErrorKind['status'], { title: string; detail: string }> = {
  400: {
    title: 'Invalid request',
    detail:
      'the request is not valid HTTP/1.1 (a control character in a header, a bad request line or framing)',
  },
  408: { title: 'Request timeout', detail: 'the request was not received in time' },
  431: {
    title: 'Request header fields too large',
    detail: 'the request line and headers exceed the server limit (Node: 16 KB unless configured)',
  },
};

/** The problem for a request Node's HTTP parser refused before any handler saw it. */
export function clientErrorProblem(kind: ClientErrorKind): Problem {
  return {
    type: problemType(kind.code),
    ...WORDING[kind.status],
    status: kind.status,
    code: kind.code,
    ...(kind.parserCode ? { parserCode: kind.parserCode } : {}),
  };
}

/** Node's `clientError` handler of the gateway: the refusal as problem+json (libs/telemetry answers). */
export function answerClientError(error: Error & { code?: unknown }, socket: Duplex): void {
  answerRefusedRequest(error, socket, (kind) => ({
    contentType: PROBLEM_CONTENT_TYPE,
    body: JSON.stringify(clientErrorProblem(kind)),
  }));
}
