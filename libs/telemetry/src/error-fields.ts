import type { Counter, Registry } from 'prom-client';
import { seriesOn } from './metric-series.js';

/**
 * What every last-resort boundary logs about an unexpected error: its type, a driver's code (e.g. a
 * Postgres SQLSTATE) and its stack frames, never its message — a message can quote the input it
 * choked on (JSON.parse, grpc-js metadata, a validation issue), and input may hold personal data.
 */
export function unexpectedErrorFields(error: unknown): {
  errorType: string;
  errorCode?: string;
  stack?: string;
} {
  if (!(error instanceof Error)) return { errorType: typeof error };
  const code = (error as { code?: unknown }).code;
  const frames = (error.stack ?? '')
    .split('\n')
    .filter((line) => line.startsWith('    at '))
    .map((line) => line.trim());
  return {
    errorType: error.name || error.constructor.name,
    ...(typeof code === 'string' ? { errorCode: code } : {}),
    ...(frames.length > 0 ? { stack: frames.join('\n') } : {}),
  };
}

export const UNEXPECTED_ERRORS = 'orgmesh_unexpected_errors_total';

/**
 * The one series every last-resort boundary counts into, `orgmesh_unexpected_errors_total{edge,
 * subject}`: found in `registry` or created there, so the edges of one process (HTTP, gRPC, the bus,
 * MCP) share it whichever of them counts or starts first.
 */
export function unexpectedErrorsCounter(registry: Registry): Counter<'edge' | 'subject'> {
  return seriesOn(registry).sharedCounter(
    UNEXPECTED_ERRORS,
    'errors no code path anticipated, answered as internal by a last-resort boundary (or dead-lettered), by edge (http, sse, grpc, nats-rpc, …) and route, method, tool or subject',
    { labels: ['edge', 'subject'] },
  );
}
