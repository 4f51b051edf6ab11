import type {
  CreateTaskOptions,
  TaskStore,
} from '@modelcontextprotocol/sdk/experimental/tasks/interfaces.js';
import { z } from 'zod';
import {
  CallToolResultSchema,
  ErrorCode,
  McpError,
  type CallToolResult,
  type Task as McpTask,
} from '@modelcontextprotocol/sdk/types.js';
import type { Task } from '@orgmesh/contracts';
import type { GatewayClient } from '../gateway/gateway.client.js';
import { GatewayError } from '../gateway/gateway.errors.js';
import { withoutNulls } from './compact-answers.js';
import { toolFailure, toolSuccess } from './tool-result.js';

/**
 * Approvals as MCP tasks (ADR 0017). The MCP task *is* the mesh approval: same id, and every answer
 * about it (tasks/get, tasks/result, tasks/cancel, tasks/list) is read from or written to the mesh
 * through the gateway, with the caller's token. Nothing is kept in this process, so any orgmesh-mcp
 * instance (another stdio process, any HTTP request) answers for a task another one created.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * An MCP task whose outcome was known when it was created: a task-augmented request_approval the mesh
 * refused (policy_denied, validation_failed…) created no mesh task, yet 2025-11-25 answers a
 * task-augmented call with a task. Its id carries the tool result itself, so tasks/get and
 * tasks/result answer it on any instance without storage. (The blocking fallback uses the same to
 * hand the SDK an outcome that is not a decided approval: a refusal, `wait: false`, a wait run out.)
 * A client can only ever read back from such an id what it holds already.
 */
const INLINE_PREFIX = 'inline.';

interface InlineOutcome {
  readonly result: CallToolResult;
  readonly at: string;
}

export function inlineTaskId(result: CallToolResult, at: Date): string {
  const outcome: InlineOutcome = { result, at: at.toISOString() };
  return `${INLINE_PREFIX}${Buffer.from(JSON.stringify(outcome)).toString('base64url')}`;
}

/** The terminal MCP task of an inline outcome: failed for a tool error, completed otherwise. */
export function inlineTask(result: CallToolResult, at: Date): McpTask {
  return inlineTaskOf(inlineTaskId(result, at), { result, at: at.toISOString() });
}

function inlineTaskOf(taskId: string, outcome: InlineOutcome): McpTask {
  const text = outcome.result.content.find((c) => c.type === 'text')?.text ?? '';
  return {
    taskId,
    status: outcome.result.isError ? 'failed' : 'completed',
    statusMessage: text.split('\n')[0]?.slice(0, 200) ?? '',
    createdAt: outcome.at,
    lastUpdatedAt: outcome.at,
    ttl: null,
  };
}

function inlineOutcome(taskId: string): InlineOutcome | undefined {
  if (!taskId.startsWith(INLINE_PREFIX)) return undefined;
  try {
    const value: unknown = JSON.parse(
      Buffer.from(taskId.slice(INLINE_PREFIX.length), 'base64url').toString('utf8'),
    );
    const parsed = z.object({ result: CallToolResultSchema, at: z.string() }).safeParse(value);
    return parsed.success ? (parsed.data as InlineOutcome) : undefined;
  } catch {
    return undefined;
  }
}

/** The MCP task status of a mesh task, as its requester sees it. */
export function mcpStatusOf(task: Pick<Task, 'state'>): McpTask['status'] {
  switch (task.state) {
    // An approval's decision is its answer: `reject` is a result, not a failure of the call.
    case 'completed':
    case 'rejected':
      return 'completed';
    case 'failed':
      return 'failed';
    case 'canceled':
      return 'cancelled';
    default:
      // submitted, working, input-required: the approver has not decided. MCP's `input_required`
      // means the *requester* owes input, which is never the case here.
      return 'working';
  }
}

function statusMessageOf(task: Task): string {
  if (task.decision) return `${task.decision.decision} by ${task.decision.decidedBy.agentId}`;
  const recipient = task.to.agentId ?? task.to.role;
  if (task.state === 'failed' || task.state === 'canceled' || task.state === 'rejected')
    return task.reason ? `${task.state}: ${task.reason}` : task.state;
  return `${task.state}: waiting for ${recipient} to decide`;
}

/** The MCP task for a mesh approval. `ttl` null: the mesh keeps tasks by its own retention. */
export function toMcpTask(task: Task, pollIntervalMs: number): McpTask {
  return {
    taskId: task.id,
    status: mcpStatusOf(task),
    statusMessage: statusMessageOf(task),
    createdAt: task.createdAt,
    lastUpdatedAt: task.updatedAt,
    ttl: null,
    pollInterval: pollIntervalMs,
  };
}

/**
 * The result of a decided (or ended) approval, as the plain tools/call would have answered it: the
 * approval with its decision; a mesh failure or cancellation is a tool error with a stable code.
 */
export function approvalResult(task: Task): CallToolResult {
  if (task.state === 'failed' || task.state === 'canceled') {
    const code = task.state === 'failed' ? 'approval_failed' : 'approval_canceled';
    return toolFailure(
      new GatewayError(
        code,
        `the approval ${task.id} ${task.state}${task.reason ? `: ${task.reason}` : ''}`,
        0,
        {
          taskId: task.id,
          state: task.state,
          reason: task.reason,
        },
      ),
    );
  }
  return toolSuccess(withoutNulls(task));
}

export interface MeshTaskStoreOptions {
  readonly gateway: GatewayClient;
  readonly callerRole: () => Promise<string | undefined>;
  readonly pollIntervalMs: number;
}

/**
 * The SDK's TaskStore over the mesh. Tasks are created by request_approval itself (the mesh
 * approval), never through `createTask`; results are the mesh's, never stored here.
 */
export class MeshTaskStore implements TaskStore {
  constructor(private readonly options: MeshTaskStoreOptions) {}

  createTask(_params: CreateTaskOptions): Promise<McpTask> {
    return Promise.reject(new Error('orgmesh tasks are mesh approvals: request_approval creates them'));
  }

  /** The mesh task, or null when it does not exist or the caller may not see it (never leaked as 403). */
  async fetch(taskId: string): Promise<Task | null> {
    if (!UUID.test(taskId)) return null;
    try {
      return await this.options.gateway.request<Task>('GET', `/v1/tasks/${taskId}`, {
        query: { includeHistory: false },
      });
    } catch (error) {
      if (error instanceof GatewayError && (error.status === 404 || error.status === 403)) return null;
      throw error;
    }
  }

  async getTask(taskId: string): Promise<McpTask | null> {
    const inline = inlineOutcome(taskId);
    if (inline) return inlineTaskOf(taskId, inline);
    const task = await this.fetch(taskId);
    return task ? toMcpTask(task, this.options.pollIntervalMs) : null;
  }

  storeTaskResult(): Promise<void> {
    return Promise.reject(new Error('an approval result is the mesh decision: nothing is stored here'));
  }

  async getTaskResult(taskId: string): Promise<CallToolResult> {
    const inline = inlineOutcome(taskId);
    if (inline) return inline.result;
    const task = await this.fetch(taskId);
    if (!task) throw new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`);
    return approvalResult(task);
  }

  /** Only `cancelled` is the client's to set (tasks/cancel): it cancels the mesh approval. */
  async updateTaskStatus(taskId: string, status: McpTask['status']): Promise<void> {
    if (status !== 'cancelled') {
      throw new McpError(
        ErrorCode.InvalidRequest,
        `the mesh sets an approval's status; ${status} is not settable`,
      );
    }
    if (!UUID.test(taskId)) throw new McpError(ErrorCode.InvalidParams, `Cannot cancel task: ${taskId}`);
    try {
      await this.options.gateway.request('POST', `/v1/tasks/${taskId}/cancel`, {
        body: { reason: 'canceled by the requester (MCP tasks/cancel)' },
        idempotencyKey: `mcp-cancel-${taskId}`,
      });
    } catch (error) {
      if (error instanceof GatewayError && error.status === 409) {
        // Decided between the SDK's terminal check and this call.
        throw new McpError(
          ErrorCode.InvalidParams,
          `Cannot cancel task in terminal status: ${error.message}`,
        );
      }
      if (error instanceof GatewayError && (error.status === 404 || error.status === 403)) {
        throw new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`);
      }
      throw error;
    }
  }

  /** The caller's role's own approvals (outbound), newest first; the cursor is the mesh's. */
  async listTasks(cursor?: string): Promise<{ tasks: McpTask[]; nextCursor?: string }> {
    const page = await this.options.gateway.request<{ items: Task[]; nextCursor: string | null }>(
      'GET',
      '/v1/tasks',
      {
        query: {
          role: await this.options.callerRole(),
          direction: 'outbound',
          kind: 'approval',
          limit: 50,
          cursor,
        },
      },
    );
    return {
      tasks: page.items.map((task) => toMcpTask(task, this.options.pollIntervalMs)),
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    };
  }
}

export interface WaitOptions {
  /** Give up after this long (MCP_APPROVAL_WAIT); the approval stays open. */
  readonly waitMs: number;
  readonly pollIntervalMs: number;
  /** The request's signal: the client cancelled the call or went away. */
  readonly signal: AbortSignal;
  /** Called when the state changes and at least every `heartbeatMs` (progress notifications). */
  readonly onProgress?: (task: Task, count: number) => Promise<void>;
  readonly heartbeatMs?: number;
}

/** A progress notification about a waiting approval, as either protocol era's SDK sends it. */
export interface ApprovalProgressNotification {
  readonly method: 'notifications/progress';
  readonly params: { progressToken: string | number; progress: number; message: string };
}

/**
 * The `onProgress` of waitForDecision for a call whose client gave a `progressToken` (none
 * without one): each state change of the approval, and each heartbeat, sent through `notify` as
 * `notifications/progress` naming the approval, its state and whom it waits for.
 */
export function approvalProgress(
  progressToken: string | number | undefined,
  notify: (notification: ApprovalProgressNotification) => Promise<void>,
): WaitOptions['onProgress'] {
  if (progressToken === undefined) return undefined;
  return (task, count) =>
    notify({
      method: 'notifications/progress',
      params: {
        progressToken,
        progress: count,
        message: `approval ${task.id}: ${task.state}, waiting for ${task.to.agentId ?? task.to.role}`,
      },
    });
}

/** The wait ended before a decision: the approval stays open. A tool error the model reads. */
function stillPending(task: Task, why: string): GatewayError {
  return new GatewayError(
    'approval_pending',
    `${why}; the approval ${task.id} stays open (${task.state}): follow it with fetch_status, ` +
      'or call request_approval with wait: false to return at once',
    0,
    { taskId: task.id, state: task.state },
  );
}

/**
 * The blocking fallback for clients without tasks: polls the mesh until the approval ends, the wait
 * runs out or the call is cancelled (both a GatewayError `approval_pending`: the approval stays open).
 */
export async function waitForDecision(
  store: MeshTaskStore,
  created: Task,
  options: WaitOptions,
): Promise<Task> {
  const deadline = Date.now() + options.waitMs;
  const heartbeat = options.heartbeatMs ?? 15_000;
  let task = created;
  let count = 0;
  let lastState: string | undefined;
  let lastSent = 0;
  for (;;) {
    if (mcpStatusOf(task) !== 'working') return task;
    if (options.onProgress && (task.state !== lastState || Date.now() - lastSent >= heartbeat)) {
      lastState = task.state;
      lastSent = Date.now();
      await options.onProgress(task, ++count);
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw stillPending(task, `not decided within ${formatWait(options.waitMs)}`);
    }
    if (!(await sleep(Math.min(options.pollIntervalMs, left), options.signal))) {
      throw stillPending(task, 'the call was cancelled');
    }
    task = (await store.fetch(created.id)) ?? task;
  }
}

function formatWait(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`;
}

/** Resolves true after `ms`, or false as soon as the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
