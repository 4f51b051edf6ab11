import * as grpc from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode, context, trace, type Span } from '@opentelemetry/api';
import { AppError } from '@orgmesh/contracts';
import { extractTraceContext } from '@orgmesh/messaging';
import { unexpectedErrorFields, type Logger } from '@orgmesh/telemetry';
import type { GatewayMetrics } from '../gateway.metrics.js';
import { PreSerialized } from './grpc-codec.js';
import { bareInternalStatus, toGrpcError, type GrpcErrorTerms } from './grpc-errors.js';

export interface BoundaryDeps {
  logger: Logger;
  metrics: GatewayMetrics;
}

/** How one method answers: its name and error terms, and its response serializer (from the proto). */
export interface GuardedMethod extends GrpcErrorTerms {
  serialize: (message: unknown) => Buffer;
}

/**
 * One call inside the boundary: its server span (child of the caller's `traceparent`, so the NATS
 * requests it makes and its log lines carry the trace id) and the at-most-once report of an
 * unexpected throw.
 */
class CallScope {
  readonly span: Span;
  private reported = false;

  constructor(
    private readonly deps: BoundaryDeps,
    private readonly method: string,
    metadata: grpc.Metadata,
    kind: 'unary' | 'stream',
  ) {
    const headers: Record<string, string> = {};
    for (const name of ['traceparent', 'tracestate']) {
      const [value] = metadata.get(name);
      if (typeof value === 'string') headers[name] = value;
    }
    const [service, rpc] = method.split('/');
    this.span = trace.getTracer('@orgmesh/gateway').startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'rpc.system': 'grpc',
          'rpc.service': service,
          'rpc.method': rpc,
          'orgmesh.grpc.kind': kind,
        },
      },
      extractTraceContext(headers),
    );
  }

  run<T>(work: () => Promise<T>): Promise<T> {
    return context.with(trace.setSpan(context.active(), this.span), work);
  }

  /** Logs and counts an unexpected throw, once per call whatever else fails afterwards. */
  report(error: unknown): void {
    if (this.reported) return;
    this.reported = true;
    try {
      this.deps.metrics.unexpectedErrors.inc({ edge: 'grpc', subject: this.method });
      this.deps.logger.error(
        { ...unexpectedErrorFields(error), method: this.method, traceId: this.span.spanContext().traceId },
        'grpc call failed unexpectedly',
      );
    } catch {
      // Telemetry failing must not keep the caller from its answer.
    }
  }

  end(code: grpc.status): void {
    try {
      this.span.setAttribute('rpc.grpc.status_code', code);
      if (code === grpc.status.INTERNAL || code === grpc.status.UNKNOWN)
        this.span.setStatus({ code: SpanStatusCode.ERROR });
      this.span.end();
    } catch {
      // as above
    }
  }
}

/**
 * Wraps a unary handler in the last-resort boundary: an AppError is answered with its status;
 * anything else (a throw in the handler, while serialising the response, or while building or
 * sending a status) is logged once with the trace id, counted, and answered as the typed
 * `internal` error; if even that cannot be sent, a bare INTERNAL without metadata is. Nothing
 * escapes to grpc-js or the process.
 */
export function guardUnary(
  deps: BoundaryDeps,
  method: GuardedMethod,
  handle: (call: grpc.ServerUnaryCall<unknown, unknown>) => Promise<unknown>,
): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const started = process.hrtime.bigint();
    let scope: CallScope | undefined;
    let code: grpc.status = grpc.status.INTERNAL;
    const fail = (error: unknown) => {
      if (!(error instanceof AppError)) scope?.report(error);
      try {
        const status = toGrpcError(error, method);
        code = status.code;
        callback(status);
      } catch (sendError) {
        scope?.report(sendError);
        code = grpc.status.INTERNAL;
        try {
          callback(bareInternalStatus());
        } catch {
          // Nothing left to answer with: grpc-js ends the call when the client's deadline passes.
        }
      }
    };
    const answer = async (current: CallScope) => {
      let bytes: Buffer;
      try {
        bytes = method.serialize(await current.run(() => handle(call)));
      } catch (error) {
        fail(error);
        return;
      }
      try {
        code = grpc.status.OK;
        callback(null, new PreSerialized(bytes));
      } catch (error) {
        fail(error);
      }
    };
    const finish = () => {
      scope?.end(code);
      try {
        deps.metrics.grpcDuration.observe(
          { method: method.method, code: grpc.status[code] ?? String(code) },
          Number(process.hrtime.bigint() - started) / 1e9,
        );
      } catch {
        // Telemetry failing must not keep the caller from its answer.
      }
    };
    try {
      scope = new CallScope(deps, method.method, call.metadata, 'unary');
      void answer(scope).catch(fail).finally(finish);
    } catch (error) {
      fail(error);
      finish();
    }
  };
}

/** Writes one message of a server stream; false when the stream wants a 'drain' first. */
export type StreamWrite = (message: unknown) => boolean;

/**
 * The same boundary for a server-streaming handler: `handle` writes through `write` (serialised
 * inside the boundary) and returns when the stream is done; a throw ends the stream with the typed
 * status (or `internal`, reported once), unless the client has gone already.
 */
export function guardServerStream(
  deps: BoundaryDeps,
  method: GuardedMethod,
  handle: (call: grpc.ServerWritableStream<unknown, unknown>, write: StreamWrite) => Promise<void>,
): grpc.handleServerStreamingCall<unknown, unknown> {
  return (call) => {
    let scope: CallScope | undefined;
    let code: grpc.status = grpc.status.OK;
    const open = () => !call.cancelled && !call.writableEnded && !call.destroyed;
    // grpc-js turns an 'error' on a server stream into the call's final status (sent on a later
    // tick: toGrpcError's status is one grpc-js can always send).
    const fail = (error: unknown) => {
      if (!(error instanceof AppError)) scope?.report(error);
      try {
        const status = toGrpcError(error, method);
        code = status.code;
        if (open()) call.emit('error', status);
      } catch (sendError) {
        scope?.report(sendError);
        code = grpc.status.INTERNAL;
        try {
          if (open()) call.emit('error', bareInternalStatus());
        } catch {
          // as in guardUnary
        }
      }
    };
    try {
      const current = new CallScope(deps, method.method, call.metadata, 'stream');
      scope = current;
      const write: StreamWrite = (message) => call.write(new PreSerialized(method.serialize(message)));
      void current
        .run(() => handle(call, write))
        .then(() => {
          if (open()) call.end();
        })
        .catch(fail)
        .finally(() => current.end(code));
    } catch (error) {
      fail(error);
      scope?.end(code);
    }
  };
}
