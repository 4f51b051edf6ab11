import type { JSONRPCRequest, RequestId } from '@modelcontextprotocol/sdk/types.js';

/** How many undecided ids are kept at most: a request that never reaches its tool leaves one behind. */
const MAX_PENDING = 1_000;

/**
 * Which tools/call requests asked for a task (`params.task`, MCP 2025-11-25). The SDK decides between
 * its task path and its own polling fallback from that field but hands a task tool's `createTask`
 * neither the field nor the path, and its fallback polls without a deadline or progress. The
 * GuardedTransport notes the ids as the requests arrive; request_approval takes its id once, and
 * so runs orgmesh's own blocking fallback when the client did not ask for a task (ADR 0017).
 */
export class TaskAugmentedCalls {
  private readonly pending = new Set<RequestId>();

  constructor(private readonly toolNames: ReadonlySet<string>) {}

  /** Notes a tools/call of one of the task tools that carries `params.task`. */
  note(request: JSONRPCRequest): void {
    if (request.method !== 'tools/call') return;
    const params = request.params as { name?: unknown; task?: unknown } | undefined;
    if (typeof params?.name !== 'string' || !this.toolNames.has(params.name)) return;
    if (typeof params.task !== 'object' || params.task === null) return;
    if (this.pending.size >= MAX_PENDING) {
      const oldest = this.pending.values().next();
      if (!oldest.done) this.pending.delete(oldest.value);
    }
    this.pending.add(request.id);
  }

  /** Whether that request asked for a task; each id answers true once. */
  take(requestId: RequestId): boolean {
    return this.pending.delete(requestId);
  }
}
