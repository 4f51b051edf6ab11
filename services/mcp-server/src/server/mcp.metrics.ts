import type { Registry } from 'prom-client';
import { createMetricsRegistry, unexpectedErrorsCounter } from '@orgmesh/telemetry';

/** Where an unexpected error was caught: the HTTP request, a tool call, or the message dispatch. */
export type McpEdge = 'mcp-http' | 'mcp-tool' | 'mcp-dispatch';

/**
 * orgmesh-mcp's Prometheus series, served at `GET /metrics` in HTTP mode. Only errors no code path
 * anticipated are counted here (issue 17): every one of them is a bug to fix, not load to watch.
 */
export class McpMetrics {
  readonly registry: Registry = createMetricsRegistry('orgmesh-mcp');
  private readonly unexpected = unexpectedErrorsCounter(this.registry);

  countUnexpected(edge: McpEdge, subject: string): void {
    this.unexpected.inc({ edge, subject });
  }
}
