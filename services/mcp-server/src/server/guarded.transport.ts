import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ClientRequestSchema,
  ErrorCode,
  isJSONRPCRequest,
  type JSONRPCMessage,
  type MessageExtraInfo,
} from '@modelcontextprotocol/sdk/types.js';
import { unexpectedErrorFields, type Logger } from '@orgmesh/telemetry';
import type { McpMetrics } from './mcp.metrics.js';
import type { TaskAugmentedCalls } from './task-augmented-calls.js';

/** Each client request's own schema, by method: what the SDK parses its params with. */
const REQUEST_SCHEMAS = new Map(
  ClientRequestSchema.options.map((schema) => [schema.shape.method.value as string, schema] as const),
);

/**
 * The MCP server's edge (issue 17), around the SDK's transport:
 * - a request whose params do not fit its method is answered `Invalid params` (-32602) naming the
 *   field paths; the SDK would answer -32603, the internal error, with the whole zod report;
 * - a line that is not JSON (-32700) or not a JSON-RPC message (-32600) is answered with `id: null`
 *   as JSON-RPC 2.0 asks; the SDK's stdio transport drops it silently;
 * - a throw while handling a message is logged once and never reaches the transport's read loop.
 */
export class GuardedTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;

  constructor(
    private readonly inner: Transport,
    private readonly logger: Logger,
    /** Whether read errors are the client's malformed input (stdio), answered with `id: null`. */
    private readonly answerUnreadable: boolean,
    private readonly metrics?: McpMetrics,
    /** Told of every valid request first: which tools/call asked for a task (ADR 0017). */
    private readonly taskCalls?: TaskAugmentedCalls,
    /**
     * Whether params are checked against the 2025-era request schemas. Off in front of the
     * 2026-07-28 server, whose SDK validates its own revision's shapes (ADR 0017).
     */
    private readonly checkParams = true,
  ) {
    inner.onclose = () => this.onclose?.();
    inner.onerror = (error) => this.readFailed(error);
    inner.onmessage = (message, extra) => this.received(message, extra);
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private received(message: JSONRPCMessage, extra: MessageExtraInfo | undefined): void {
    if (isJSONRPCRequest(message) && this.checkParams) {
      const schema = REQUEST_SCHEMAS.get(message.method);
      const parsed = schema?.safeParse(message);
      if (parsed && !parsed.success) {
        const paths = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))];
        this.answer({
          jsonrpc: '2.0',
          id: message.id,
          error: { code: ErrorCode.InvalidParams, message: `Invalid params: ${paths.join(', ')}` },
        });
        return;
      }
      this.taskCalls?.note(message);
    }
    try {
      this.onmessage?.(message, extra);
    } catch (error) {
      // The SDK answers what its handlers throw; a throw here is a bug in the dispatch itself.
      this.metrics?.countUnexpected('mcp-dispatch', isJSONRPCRequest(message) ? message.method : 'message');
      this.logger.error(unexpectedErrorFields(error), 'mcp message dispatch failed');
    }
  }

  private readFailed(error: Error): void {
    if (this.answerUnreadable && isUnreadable(error)) {
      const notJson = error instanceof SyntaxError;
      this.answer({
        jsonrpc: '2.0',
        id: null,
        error: notJson
          ? { code: ErrorCode.ParseError, message: 'Parse error: not JSON' }
          : { code: ErrorCode.InvalidRequest, message: 'Invalid Request: not a JSON-RPC 2.0 message' },
      });
      this.logger.debug({ notJson }, 'mcp message unreadable');
      return;
    }
    this.onerror?.(error);
  }

  private answer(message: unknown): void {
    // `id: null` is JSON-RPC's answer to a message without a readable id; the SDK types omit it.
    this.inner.send(message as JSONRPCMessage).catch((error: unknown) => {
      this.logger.warn(unexpectedErrorFields(error), 'mcp error answer not sent');
    });
  }
}

/** A read error caused by the bytes received: JSON.parse's SyntaxError or the SDK's message schema. */
function isUnreadable(error: Error): boolean {
  return error instanceof SyntaxError || error.name === 'ZodError' || error.name === '$ZodError';
}
