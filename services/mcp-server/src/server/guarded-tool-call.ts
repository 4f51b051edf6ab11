import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { checkJsonBounds } from '@orgmesh/contracts';
import { unexpectedErrorFields, type Logger } from '@orgmesh/telemetry';
import { GatewayError } from '../gateway/gateway.errors.js';
import { toolFailure } from '../tools/tool-result.js';
import type { McpMetrics } from './mcp.metrics.js';

/** Runs one tool call inside the edge rules; what both protocol eras' servers call their tools through. */
export type GuardedToolCall = (
  toolName: string,
  args: Record<string, unknown>,
  run: () => Promise<CallToolResult>,
) => Promise<CallToolResult>;

/**
 * Every tool call's edge: the JSON bounds of every orgmesh edge (issue 17) before any tool code
 * runs, one log line, and the last-resort boundary (the client gets `internal`, the process keeps
 * serving).
 */
export function guardedToolCall(logger: Logger, metrics?: McpMetrics): GuardedToolCall {
  return async (toolName, args, run) => {
    const started = Date.now();
    // No NUL or lone surrogate in any string, JSON no deeper than 64 levels. encodeURIComponent,
    // for one, throws on a lone surrogate.
    const unsafe = checkJsonBounds(args);
    if (unsafe) {
      const path = unsafe.path || '(root)';
      return toolFailure(
        new GatewayError('validation_failed', `invalid arguments: ${path}: ${unsafe.message}`, 0, {
          issues: [{ path, message: unsafe.message }],
        }),
      );
    }
    try {
      const result = await run();
      logger.info({ tool: toolName, ms: Date.now() - started }, 'tool call succeeded');
      return result;
    } catch (error) {
      if (error instanceof GatewayError) {
        logger.warn({ tool: toolName, ms: Date.now() - started, code: error.code }, 'tool call failed');
      } else {
        metrics?.countUnexpected('mcp-tool', toolName);
        logger.error(
          { tool: toolName, ms: Date.now() - started, ...unexpectedErrorFields(error) },
          'tool call failed unexpectedly',
        );
      }
      return toolFailure(error);
    }
  };
}
