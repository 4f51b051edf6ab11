import { createHash } from 'node:crypto';
import {
  HEADERS,
  TERMINAL_TASK_STATES,
  type ApprovalDecision,
  type RecipientInput,
  type Task,
  type TaskChange,
  type TaskState,
} from '@orgmesh/contracts';
import type { EventContext } from '@orgmesh/messaging';
import type { CreateOptions, ListFilter, UpdateState } from './agent-options.js';
import type { MeshAgent } from './mesh-agent.js';

/** What a handler can do about the task it was given. Calls made here continue the task's trace and workflow. */
export interface TaskContext {
  readonly task: Task;
  readonly agent: MeshAgent;
  /** 1 on the first delivery. */
  readonly deliveryCount: number;
  readonly redelivered: boolean;
  /** The W3C trace context of the delivery; pass it on (`headers()`) to continue the trace. */
  readonly traceparent: string | undefined;
  /** Aborted when the agent stops and the grace period is over. */
  readonly signal: AbortSignal;
  /** Whether this task has reached its end (completed, decided, failed, rejected) through this agent. */
  readonly ended: boolean;
  /** Headers that continue the task's trace on other calls (e.g. the model call). */
  headers(): Record<string, string>;
  progress(state: 'working' | 'input-required', reason?: string): Promise<Task>;
  /**
   * Asks the task's sender for input (the task becomes input-required, `question` its reason, which
   * A2A shows as the status message). The handler may then return: the task waits, and the sender's
   * answer comes as the task's next turn — the handler is called again with the task's new input.
   */
  requestInput(question: string): Promise<Task>;
  /** Whether the task waits for its sender's input (asked in this turn): returning then completes nothing. */
  readonly awaitingInput: boolean;
  complete(result?: unknown): Promise<Task>;
  fail(reason: string): Promise<Task>;
  reject(reason: string): Promise<Task>;
  decide(decision: ApprovalDecision, comment?: string): Promise<Task>;
  sendTask(to: RecipientInput, type: string, input?: unknown, options?: CreateOptions): Promise<Task>;
  requestApproval(
    to: RecipientInput,
    subject: string,
    details?: unknown,
    options?: CreateOptions,
  ): Promise<Task>;
  notify(to: RecipientInput, message: string, options?: CreateOptions): Promise<Task>;
  fetchStatus(id: string, options?: { includeHistory?: boolean }): Promise<Task>;
  listTasks(filter?: ListFilter): Promise<{ items: Task[]; nextCursor: string | null }>;
  waitForTask(id: string, options?: { timeoutMs?: number }): Promise<Task>;
  /**
   * The task as the mesh says it is now (a fetch, a wake-up): when it ended elsewhere (canceled, the
   * deadline job), `ended` becomes true, so the handler's return completes nothing.
   */
  observe(task: Task): void;
  /** Updates (update-task) on another task, tracked so `ended` stays right when it is this one. */
  updateTask(id: string, state: UpdateState, extra?: { result?: unknown; reason?: string }): Promise<Task>;
  decideTask(id: string, decision: ApprovalDecision, comment?: string): Promise<Task>;
}

/** What a task or approval handler may return: a task's result, or an approval's decision. */
export type HandlerResult = unknown;
export type TaskHandler = (task: Task, ctx: TaskContext) => Promise<HandlerResult>;
export type NotificationHandler = (task: Task, ctx: TaskContext) => Promise<void>;
export type TaskUpdateListener = (change: TaskChange) => void;

const TERMINAL = new Set<TaskState>(TERMINAL_TASK_STATES);

export function isTerminal(state: TaskState): boolean {
  return TERMINAL.has(state);
}

/** The decision an approval handler may return instead of calling `ctx.decide`. */
export function isDecisionResult(value: unknown): value is { decision: ApprovalDecision; comment?: string } {
  if (typeof value !== 'object' || value === null) return false;
  const decision = (value as { decision?: unknown }).decision;
  return decision === 'approve' || decision === 'reject';
}

/**
 * The context of one delivery: the task as it is now, the delivery's trace, and the agent's calls
 * made on the task's behalf (its trace continued, its workflow and idempotency keys derived).
 */
export class TaskContextImpl implements TaskContext {
  ended = false;
  /**
   * The version of the task this delivery carried: 1 for the request, the version of the change
   * that delivered it for a later turn (input its sender added). Scopes the progress reports' keys.
   */
  readonly turnVersion: number;

  constructor(
    readonly agent: MeshAgent,
    public task: Task,
    private readonly delivery: EventContext,
    readonly signal: AbortSignal,
  ) {
    this.turnVersion = task.version;
  }

  get awaitingInput(): boolean {
    return !this.ended && this.task.state === 'input-required';
  }

  get deliveryCount(): number {
    return this.delivery.deliveryCount;
  }

  get redelivered(): boolean {
    return this.delivery.deliveryCount > 1;
  }

  get traceparent(): string | undefined {
    return this.delivery.headers[HEADERS.traceparent];
  }

  headers(): Record<string, string> {
    const out: Record<string, string> = {};
    const traceparent = this.traceparent;
    const tracestate = this.delivery.headers[HEADERS.tracestate];
    if (traceparent) out[HEADERS.traceparent] = traceparent;
    if (tracestate) out[HEADERS.tracestate] = tracestate;
    return out;
  }

  progress(state: 'working' | 'input-required', reason?: string): Promise<Task> {
    return this.updateTask(this.task.id, state, reason !== undefined ? { reason } : {});
  }

  requestInput(question: string): Promise<Task> {
    return this.progress('input-required', question);
  }

  complete(result?: unknown): Promise<Task> {
    return this.updateTask(this.task.id, 'completed', { result: result ?? null });
  }

  fail(reason: string): Promise<Task> {
    return this.updateTask(this.task.id, 'failed', { reason });
  }

  reject(reason: string): Promise<Task> {
    return this.updateTask(this.task.id, 'rejected', { reason });
  }

  decide(decision: ApprovalDecision, comment?: string): Promise<Task> {
    return this.decideTask(this.task.id, decision, comment);
  }

  observe(task: Task): void {
    // An older answer (a slower read) does not undo what a newer one said.
    if (task.id !== this.task.id || task.version < this.task.version) return;
    this.task = task;
    if (isTerminal(task.state)) this.ended = true;
  }

  async updateTask(
    id: string,
    state: UpdateState,
    extra: { result?: unknown; reason?: string } = {},
  ): Promise<Task> {
    const own = id === this.task.id;
    const task = await this.agent.updateTask(id, state, extra, this.headers(), own ? this.turnVersion : 1);
    if (own) this.observe(task);
    return task;
  }

  async decideTask(id: string, decision: ApprovalDecision, comment?: string): Promise<Task> {
    const task = await this.agent.decide(id, decision, comment, this.headers());
    if (id === this.task.id) {
      this.task = task;
      this.ended = true;
    }
    return task;
  }

  sendTask(to: RecipientInput, type: string, input?: unknown, options: CreateOptions = {}): Promise<Task> {
    const create = this.createOptions('send-task', [to, type, input], options);
    return this.agent.sendTask(to, type, input, create, this.headers());
  }

  requestApproval(
    to: RecipientInput,
    subject: string,
    details?: unknown,
    options: CreateOptions = {},
  ): Promise<Task> {
    const create = this.createOptions('request-approval', [to, subject, details], options);
    return this.agent.requestApproval(to, subject, details, create, this.headers());
  }

  notify(to: RecipientInput, message: string, options: CreateOptions = {}): Promise<Task> {
    const create = this.createOptions('notify', [to, message], options);
    return this.agent.notify(to, message, create, this.headers());
  }

  fetchStatus(id: string, options: { includeHistory?: boolean } = {}): Promise<Task> {
    return this.agent.fetchStatus(id, options, this.headers());
  }

  listTasks(filter: ListFilter = {}): Promise<{ items: Task[]; nextCursor: string | null }> {
    return this.agent.listTasks(filter, this.headers());
  }

  waitForTask(id: string, options: { timeoutMs?: number } = {}): Promise<Task> {
    return this.agent.waitForTask(id, { ...options, signal: this.signal, headers: this.headers() });
  }

  /**
   * Creates made while handling a task default to its workflow, and their idempotency key is derived
   * from the task and the request: handling a redelivered task again returns the tasks it already
   * created instead of creating them twice. A later turn (input its sender added) has its own keys.
   */
  private createOptions(operation: string, args: unknown[], options: CreateOptions): CreateOptions {
    const contextId = options.contextId ?? this.task.contextId;
    const idempotencyKey =
      options.idempotencyKey ??
      `${this.task.id}${this.turnVersion > 1 ? `@v${this.turnVersion}` : ''}:${createHash('sha256')
        .update(JSON.stringify([operation, contextId, ...args]))
        .digest('base64url')
        .slice(0, 32)}`;
    return { ...options, contextId, idempotencyKey };
  }
}
