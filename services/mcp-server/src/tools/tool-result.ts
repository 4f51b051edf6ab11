import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { GatewayError } from '../gateway/gateway.errors.js';

/**
 * A tool's answer, as text (what every client shows the model) and as structured content. The text is
 * compact JSON: indentation would be a third of what the model reads.
 */
export function toolSuccess(value: unknown): CallToolResult {
  const structured =
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : { value };
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: structured };
}

/**
 * A tool error (`isError: true`, so the model sees it and can react) with the gateway's stable code
 * first: `policy_denied: …`, `task_illegal_transition: …`. The problem's extension members (the
 * refusing rule, allowed events, invalid field paths) follow as JSON and as structured content.
 */
export function toolFailure(error: unknown): CallToolResult {
  const failure =
    error instanceof GatewayError
      ? { code: error.code, message: error.message, status: error.status, ...error.details }
      : // Anything else is a bug whose message may quote internals or input: logged by the caller, not shown.
        { code: 'internal', message: 'internal error', status: 0 };
  const { code, message, ...rest } = failure;
  const extra =
    Object.keys(rest).filter((key) => key !== 'status').length > 0
      ? `\n${JSON.stringify(rest, null, 2)}`
      : '';
  return {
    isError: true,
    content: [{ type: 'text', text: `${code}: ${message}${extra}` }],
    structuredContent: { error: failure },
  };
}
