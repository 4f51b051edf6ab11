import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '@orgmesh/contracts';
import { PROBLEM_CONTENT_TYPE, sendJson, sendProblem, toProblem } from '@orgmesh/service-host/http-edge';
// One rule for what an unexpected throw may put in a log line, shared with the gRPC boundary.
import { unexpectedErrorFields, type Logger } from '@orgmesh/telemetry';
import type { GatewayMetrics } from '../gateway.metrics.js';

/** What answering an error needs from the server. */
export interface ErrorResponseContext {
  logger: Logger;
  metrics: GatewayMetrics;
}

function isEventStream(res: ServerResponse): boolean {
  const type = res.getHeader('content-type');
  return typeof type === 'string' && type.startsWith('text/event-stream');
}

/**
 * Answers a failed request as problem+json with the error's stable code. A throw that is not an
 * AppError is a bug: logged here once, inside the request's span (the line carries its trace id),
 * with its type and stack frames but not its message (which may quote the input), counted, and answered as `internal` without its message. When the response has started, an event
 * stream ends with an `error` event and anything else is cut off (a short body must not look whole).
 */
export function answerError(
  ctx: ErrorResponseContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  error: unknown,
  route: string,
): void {
  const problem = toProblem(error, path);
  const streaming = isEventStream(res);
  if (!(error instanceof AppError)) {
    ctx.metrics.unexpectedErrors.inc({ edge: streaming ? 'sse' : 'http', subject: route });
    ctx.logger.error({ ...unexpectedErrorFields(error), route }, 'request failed unexpectedly');
  } else if (problem.status >= 500) {
    ctx.logger.warn({ route, code: problem.code, status: problem.status }, 'request failed');
  }
  if (res.headersSent) {
    if (res.writableEnded) return;
    if (streaming) {
      // The client resumes from its Last-Event-ID.
      res.end(
        `event: error\ndata: ${JSON.stringify({ code: problem.code, detail: 'the event stream was interrupted' })}\n\n`,
      );
      return;
    }
    res.destroy();
    return;
  }
  sendProblem(req, res, error, path);
}

/**
 * The last resort, for throws that escaped even answerError (or came before the request had a
 * span): logged once with the trace id, counted, and answered as a bare `internal` problem when the
 * response has not started, else cut off. Never throws: it runs where nothing else would catch.
 */
export function answerLastResort(
  ctx: ErrorResponseContext,
  res: ServerResponse,
  error: unknown,
  traceId: string | undefined,
): void {
  try {
    ctx.metrics.unexpectedErrors.inc({ edge: 'http' });
    ctx.logger.error({ ...unexpectedErrorFields(error), traceId }, 'request failed unexpectedly');
  } catch {
    // Telemetry failing must not stop the answer below.
  }
  try {
    if (res.headersSent || res.writableEnded) {
      res.destroy();
      return;
    }
    sendJson(res, 500, toProblem(new AppError('internal', 'internal error')), {
      'content-type': PROBLEM_CONTENT_TYPE,
    });
  } catch {
    res.destroy();
  }
}
