import {
  SpanStatusCode,
  context,
  trace,
  type Context,
  type Span,
  type SpanOptions,
} from '@opentelemetry/api';

/** A span just started under a parent, and the context to run its work in (the span active in it). */
export interface ChildSpan {
  readonly span: Span;
  readonly context: Context;
}

/**
 * Starts a span of `tracerName` under `parent`, as `Tracer.startSpan` does, with the context it is
 * active in. The tracer is looked up on every use: a service may register its SDK (startTracing)
 * after the part that traces was created (a bus connected first).
 */
export function startChildSpan(
  tracerName: string,
  name: string,
  options: SpanOptions,
  parent: Context,
): ChildSpan {
  const span = trace.getTracer(tracerName).startSpan(name, options, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** How a failure is named on its span: `error.type`, and the status message when there is one. */
export interface SpanFailure {
  readonly type: string;
  readonly message?: string;
}

/**
 * Runs `work` in the child's context, marks the span failed when `work` throws (as `describe` names
 * the error, with the exception recorded when it is an Error), rethrows, and ends the span either way.
 */
export async function runInChildSpan<T>(
  child: ChildSpan,
  work: () => Promise<T>,
  describe: (error: unknown) => SpanFailure,
): Promise<T> {
  try {
    return await context.with(child.context, work);
  } catch (error) {
    const failure = describe(error);
    child.span.setAttribute('error.type', failure.type);
    child.span.setStatus(
      failure.message === undefined
        ? { code: SpanStatusCode.ERROR }
        : { code: SpanStatusCode.ERROR, message: failure.message },
    );
    if (error instanceof Error) child.span.recordException(error);
    throw error;
  } finally {
    child.span.end();
  }
}
