import { createHash, randomUUID } from 'node:crypto';
import type { Subscription } from '@nats-io/nats-core';
import {
  AgentHeartbeat,
  AppError,
  CancelTask,
  Decide,
  GetTask,
  HEADERS,
  InboxDelivery,
  ListTasks,
  MESH_EVENT_SUBJECTS,
  MESH_INBOX_STREAM,
  MESH_INBOX_SUBJECTS,
  Notify,
  RequestApproval,
  SendTask,
  TERMINAL_TASK_STATES,
  TaskChange,
  UpdateTask,
  agentInboxDurable,
  agentInboxSubject,
  agentUpdatesSubject,
  roleInboxDurable,
  roleInboxSubject,
  type ApprovalDecision,
  type ConfigFormat,
  type RecipientInput,
  type RpcDefinition,
  type RpcRequestInput,
  type RpcResponse,
  type Task,
  type TaskPriority,
  type TaskState,
} from '@orgmesh/contracts';
import { connectBus, type ConsumerHandle, type EventContext, type MessageBus } from '@orgmesh/messaging';
import { createLogger, type Logger } from '@orgmesh/telemetry';
import { LlmClient, type LlmClientOptions } from './llm-client.js';
import { RecentIds } from './recent-ids.js';
import { GatewayTokenSource, type AccessToken, type AccessTokenSource } from './token-source.js';

/** How the agent proves who it is: client credentials at the gateway, or a token provider of its own. */
export type AgentCredentials =
  { gatewayUrl: string; clientId: string; clientSecret: string } | { tokens: AccessTokenSource };

export interface MeshAgentOptions {
  natsUrl: string;
  /** The agent's NKey seed file on a secured bus (`orgmesh nats-config --agent <id>:<role>`); unset: anonymous. */
  nkeySeedFile?: string;
  /** The CA of the NATS servers' TLS certificate (`NATS_TLS_CA_FILE`): TLS required, only that CA trusted. */
  tlsCaFile?: string;
  /** Namespace of the bus (tests and isolated deployments). */
  subjectPrefix?: string;
  nameSuffix?: string;
  credentials: AgentCredentials;
  /** The agent id this process is meant to be; refused when the token names another subject. */
  agentId?: string;
  /**
   * The hash of the configuration the agent runs (`sha256:<hex>`), reported with every heartbeat so
   * the registry can detect drift. Without one the agent sends no heartbeats.
   */
  configHash?: string | (() => Promise<string | undefined>);
  /** The client format the config was rendered for, when it was. */
  configFormat?: ConfigFormat;
  /** Heartbeat period; default 15 s (shortened to a third of the registry's offline timeout). 0 disables. */
  heartbeatIntervalMs?: number;
  /** Deliveries handled at once; default 4. */
  concurrency?: number;
  /** Deliveries of one task before it is dead-lettered; default 10. */
  maxDeliver?: number;
  /**
   * How long the server waits for an ack before redelivering; default 10 s. Handlers may run much
   * longer (the lease is extended while they run); what this bounds is how long a delivery pulled
   * by an instance that then stopped or crashed waits before another instance gets it.
   */
  ackWaitMs?: number;
  backoffMs?: number[];
  /** NATS request timeout of a mesh call; default 10 s. */
  requestTimeoutMs?: number;
  /** How long stop() lets handlers in flight finish before aborting them; default 10 s. */
  shutdownGraceMs?: number;
  /** Report `working` before calling the task/approval handler; default true. */
  autoStart?: boolean;
  logger?: Logger;
}

/** Options of every create (send_task, request_approval, notify). */
export interface CreateOptions {
  /** The workflow (A2A contextId); a handler's calls default to its task's. */
  contextId?: string;
  /** Absolute ISO deadline. */
  deadline?: string;
  priority?: TaskPriority;
  /** Makes a retry return the first task; generated when absent. */
  idempotencyKey?: string;
}

export interface ListFilter {
  role?: string;
  agentId?: string;
  state?: TaskState;
  kind?: Task['kind'];
  contextId?: string;
  direction?: 'inbound' | 'outbound' | 'any';
  limit?: number;
  cursor?: string;
}

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
  /** Updates (update-task) on another task, tracked so `ended` stays right when it is this one. */
  updateTask(id: string, state: UpdateState, extra?: { result?: unknown; reason?: string }): Promise<Task>;
  decideTask(id: string, decision: ApprovalDecision, comment?: string): Promise<Task>;
}

/** What a task or approval handler may return: a task's result, or an approval's decision. */
export type HandlerResult = unknown;
export type TaskHandler = (task: Task, ctx: TaskContext) => Promise<HandlerResult>;
export type NotificationHandler = (task: Task, ctx: TaskContext) => Promise<void>;
export type TaskUpdateListener = (change: TaskChange) => void;

type UpdateState = 'working' | 'input-required' | 'completed' | 'failed' | 'rejected';

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
 * An agent on the mesh: it authenticates with client credentials (token refreshed before expiry),
 * consumes its role's inbox and its own from JetStream, hands each task to its handler once per
 * process (redeliveries of handled or ended tasks are dropped), reports progress and results, calls
 * the mesh with its JWT in the `authorization` header, heartbeats to the registry with its config
 * hash, and stops gracefully (no new deliveries, handlers in flight finish, connection drained).
 */
export class MeshAgent {
  readonly agentId: string;
  readonly role: string;
  readonly logger: Logger;
  private taskHandler: TaskHandler | undefined;
  private approvalHandler: TaskHandler | undefined;
  private notificationHandler: NotificationHandler | undefined;
  private readonly updateListeners = new Set<TaskUpdateListener>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private updates: Subscription | undefined;
  private readonly consumers: ConsumerHandle[] = [];
  private readonly inFlight = new Map<string, TaskContextImpl>();
  private readonly handled = new RecentIds();
  /** Progress reports per task and state, so a second `working` (after input-required) gets its own idempotency key. */
  private readonly progressReports = new Map<string, number>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatFailing = false;
  private lastHeartbeatAt: Date | undefined;
  private drift = false;
  private started = false;
  private stopping: Promise<void> | undefined;
  private readonly shutdown = new AbortController();

  private constructor(
    readonly bus: MessageBus,
    readonly tokens: AccessTokenSource,
    identity: AccessToken,
    private readonly options: MeshAgentOptions,
    logger: Logger,
  ) {
    this.agentId = identity.subject;
    this.role = identity.role;
    this.logger = logger;
  }

  /** Obtains a token (the agent's identity comes from it) and connects to NATS; consuming starts with `start()`. */
  static async connect(options: MeshAgentOptions): Promise<MeshAgent> {
    const logger = options.logger ?? createLogger({ service: `agent-${options.agentId ?? 'sdk'}` });
    const tokens =
      'tokens' in options.credentials
        ? options.credentials.tokens
        : new GatewayTokenSource({ ...options.credentials, logger });
    let identity: AccessToken;
    try {
      identity = await tokens.current();
    } catch (error) {
      tokens.stop();
      throw error;
    }
    if (options.agentId && identity.subject !== options.agentId) {
      tokens.stop();
      throw new AppError(
        'unauthenticated',
        `the token names agent ${identity.subject}, not ${options.agentId}`,
      );
    }
    const bus = await connectBus({
      url: options.natsUrl,
      ...(options.nkeySeedFile ? { nkeySeedFile: options.nkeySeedFile } : {}),
      ...(options.tlsCaFile ? { tlsCaFile: options.tlsCaFile } : {}),
      name: `agent-${identity.subject}`,
      subjectPrefix: options.subjectPrefix,
      nameSuffix: options.nameSuffix,
      logger,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      closeGraceMs: options.shutdownGraceMs ?? 10_000,
    });
    return new MeshAgent(bus, tokens, identity, options, logger);
  }

  /** Handles tasks (send_task) addressed to this agent or its role. The returned value completes the task unless the handler ended it. */
  onTask(handler: TaskHandler): this {
    this.taskHandler = handler;
    return this;
  }

  /** Handles approval requests. Return `{decision, comment}` or call `ctx.decide`; otherwise the approval stays open. */
  onApproval(handler: TaskHandler): this {
    this.approvalHandler = handler;
    return this;
  }

  /** Handles notifications; they are acknowledged (completed) on receipt, before the handler runs. */
  onNotification(handler: NotificationHandler): this {
    this.notificationHandler = handler;
    return this;
  }

  /** Changes of tasks this agent sent, while it is connected (core NATS: none are replayed after a restart). */
  onTaskUpdate(listener: TaskUpdateListener): () => void {
    this.updateListeners.add(listener);
    this.ensureUpdateSubscription();
    return () => this.updateListeners.delete(listener);
  }

  /** Starts consuming the role inbox and the agent inbox, and heartbeating. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    // The agent may come up before the mesh router: make sure the inbox work queue exists (idempotent).
    await this.bus.ensureStream('mesh', { subjects: [...MESH_EVENT_SUBJECTS] });
    await this.bus.ensureWorkQueue(MESH_INBOX_STREAM, [...MESH_INBOX_SUBJECTS]);
    const consumeOptions = {
      concurrency: this.options.concurrency ?? 4,
      maxDeliver: this.options.maxDeliver ?? 10,
      ackWaitMs: this.options.ackWaitMs ?? 10_000,
      backoffMs: this.options.backoffMs ?? [500, 2_000, 5_000, 10_000],
    };
    const handle = (task: Task, ctx: EventContext) => this.onDelivery(task, ctx);
    this.consumers.push(
      await this.bus.consume(InboxDelivery, roleInboxDurable(this.role), handle, {
        ...consumeOptions,
        subject: roleInboxSubject(this.role),
      }),
      await this.bus.consume(InboxDelivery, agentInboxDurable(this.agentId), handle, {
        ...consumeOptions,
        subject: agentInboxSubject(this.agentId),
      }),
    );
    this.ensureUpdateSubscription();
    await this.heartbeatLoop();
    this.logger.info({ agentId: this.agentId, role: this.role }, 'agent consuming its inboxes');
  }

  /** What the health endpoint shows. */
  status(): {
    agentId: string;
    role: string;
    started: boolean;
    stopping: boolean;
    inFlight: number;
    lastHeartbeatAt: string | null;
    drift: boolean;
  } {
    return {
      agentId: this.agentId,
      role: this.role,
      started: this.started,
      stopping: this.stopping !== undefined,
      inFlight: this.inFlight.size,
      lastHeartbeatAt: this.lastHeartbeatAt?.toISOString() ?? null,
      drift: this.drift,
    };
  }

  /** `Bearer <current token>`. */
  async authorization(): Promise<string> {
    return `Bearer ${(await this.tokens.current()).token}`;
  }

  /** A chat-completions client through the privacy proxy, authenticated as this agent. */
  llm(options: Omit<LlmClientOptions, 'tokens'>): LlmClient {
    return new LlmClient({ ...options, tokens: this.tokens });
  }

  // ------------------------------------------------------------------ mesh operations

  sendTask(
    to: RecipientInput,
    type: string,
    input?: unknown,
    options: CreateOptions = {},
    headers?: Record<string, string>,
  ): Promise<Task> {
    return this.call(
      SendTask,
      { to, type, ...(input !== undefined ? { input: input as never } : {}), ...createFields(options) },
      options.idempotencyKey ?? randomUUID(),
      headers,
    );
  }

  requestApproval(
    to: RecipientInput,
    subject: string,
    details?: unknown,
    options: CreateOptions = {},
    headers?: Record<string, string>,
  ): Promise<Task> {
    return this.call(
      RequestApproval,
      {
        to,
        subject,
        ...(details !== undefined ? { details: details as never } : {}),
        ...createFields(options),
      },
      options.idempotencyKey ?? randomUUID(),
      headers,
    );
  }

  notify(
    to: RecipientInput,
    message: string,
    options: CreateOptions = {},
    headers?: Record<string, string>,
  ): Promise<Task> {
    return this.call(
      Notify,
      { to, message, ...createFields(options) },
      options.idempotencyKey ?? randomUUID(),
      headers,
    );
  }

  fetchStatus(
    id: string,
    options: { includeHistory?: boolean } = {},
    headers?: Record<string, string>,
  ): Promise<Task> {
    return this.call(GetTask, { id, includeHistory: options.includeHistory ?? true }, undefined, headers);
  }

  listTasks(
    filter: ListFilter = {},
    headers?: Record<string, string>,
  ): Promise<{ items: Task[]; nextCursor: string | null }> {
    return this.call(ListTasks, { ...filter }, undefined, headers);
  }

  /** Reports progress or the end of a task this agent works on (update-task). */
  async updateTask(
    id: string,
    state: UpdateState,
    extra: { result?: unknown; reason?: string } = {},
    headers?: Record<string, string>,
  ): Promise<Task> {
    const task = await this.call(
      UpdateTask,
      {
        id,
        state,
        ...(extra.result !== undefined ? { result: extra.result as never } : {}),
        ...(extra.reason !== undefined ? { reason: extra.reason } : {}),
      },
      this.updateKey(id, state),
      headers,
    );
    if (isTerminal(task.state)) this.markEnded(id);
    return task;
  }

  progress(id: string, state: 'working' | 'input-required' = 'working', reason?: string): Promise<Task> {
    return this.updateTask(id, state, reason !== undefined ? { reason } : {});
  }

  complete(id: string, result?: unknown): Promise<Task> {
    return this.updateTask(id, 'completed', { result: result ?? null });
  }

  fail(id: string, reason: string): Promise<Task> {
    return this.updateTask(id, 'failed', { reason });
  }

  reject(id: string, reason: string): Promise<Task> {
    return this.updateTask(id, 'rejected', { reason });
  }

  async decide(
    id: string,
    decision: ApprovalDecision,
    comment?: string,
    headers?: Record<string, string>,
  ): Promise<Task> {
    const task = await this.call(
      Decide,
      { id, decision, ...(comment !== undefined ? { comment } : {}) },
      `${id}:decide`,
      headers,
    );
    this.markEnded(id);
    return task;
  }

  cancel(id: string, reason?: string): Promise<Task> {
    return this.call(CancelTask, { id, ...(reason !== undefined ? { reason } : {}) }, `${id}:cancel`);
  }

  /**
   * Waits until a task ends (completed, failed, canceled, rejected) or the timeout passes, and returns
   * it as it is then. Woken by the changes the mesh repeats to this agent (the tasks it sent), with
   * a slow poll as a safety net (and the only way for a task it did not send).
   */
  async waitForTask(
    id: string,
    options: { timeoutMs?: number; signal?: AbortSignal; headers?: Record<string, string> } = {},
  ): Promise<Task> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    this.ensureUpdateSubscription();
    for (;;) {
      const wake = this.waitForChange(id);
      try {
        const task = await this.fetchStatus(id, { includeHistory: false }, options.headers);
        const remaining = deadline - Date.now();
        if (isTerminal(task.state) || remaining <= 0) return task;
        await Promise.race([wake.promise, delay(Math.min(remaining, 2_000), options.signal)]);
        if (options.signal?.aborted) throw new AppError('unavailable', 'waiting was aborted');
      } finally {
        wake.cancel();
      }
    }
  }

  /** Sends one heartbeat now; resolves to the registry's answer, or undefined without a config hash. */
  async heartbeat(): Promise<RpcResponse<typeof AgentHeartbeat> | undefined> {
    const configHash =
      typeof this.options.configHash === 'function'
        ? await this.options.configHash()
        : this.options.configHash;
    if (!configHash) return undefined;
    const answer = await this.bus.request(
      AgentHeartbeat,
      {
        agentId: this.agentId,
        configHash,
        ...(this.options.configFormat ? { format: this.options.configFormat } : {}),
      },
      { authorization: await this.authorization(), timeoutMs: 5_000 },
    );
    this.lastHeartbeatAt = new Date();
    if (answer.drift && !this.drift)
      this.logger.warn({ agentId: this.agentId, configHash }, 'registry reports config drift');
    this.drift = answer.drift;
    return answer;
  }

  /**
   * Graceful shutdown: stop taking deliveries, let handlers in flight finish (after the grace period
   * they are aborted and their deliveries go back to the inbox), stop heartbeating, drain and close.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    clearTimeout(this.heartbeatTimer);
    const grace = this.options.shutdownGraceMs ?? 10_000;
    const abortTimer = setTimeout(() => this.shutdown.abort(), grace);
    abortTimer.unref();
    // Stop pulling; each consumer waits for its handlers in flight (they ack, or nak when aborted).
    await Promise.race([Promise.allSettled(this.consumers.map((c) => c.stop())), delay(grace + 5_000)]);
    clearTimeout(abortTimer);
    this.updates?.unsubscribe();
    this.tokens.stop();
    await this.bus.close();
    this.logger.info({ agentId: this.agentId }, 'agent stopped');
  }

  // ------------------------------------------------------------------ internals

  private async call<R extends RpcDefinition>(
    rpc: R,
    payload: RpcRequestInput<R>,
    idempotencyKey?: string,
    headers?: Record<string, string>,
  ): Promise<RpcResponse<R>> {
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.bus.request(rpc, payload, {
          authorization: await this.authorization(),
          ...(idempotencyKey ? { idempotencyKey } : {}),
          ...(headers ? { headers: { ...headers } } : {}),
        });
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        if (error.code === 'unauthenticated' && !refreshed && !('tokens' in this.options.credentials)) {
          refreshed = true;
          this.tokens.invalidate();
          continue;
        }
        // Same idempotency key on every attempt: a retry never creates or applies twice.
        if (!error.retryable || attempt >= 3 || this.shutdown.signal.aborted) throw error;
        await delay(200 * 3 ** (attempt - 1));
      }
    }
  }

  /**
   * `<id>:<state>`: a redelivered task reporting the same step again gets the first answer. A progress
   * state reported again later in the same handling (working after input-required) is a new step.
   */
  private updateKey(id: string, state: UpdateState): string {
    if (state !== 'working' && state !== 'input-required') return `${id}:${state}`;
    const key = `${id}:${state}`;
    const n = (this.progressReports.get(key) ?? 0) + 1;
    this.progressReports.set(key, n);
    return n === 1 ? key : `${key}:${n}`;
  }

  private markEnded(id: string): void {
    this.progressReports.delete(`${id}:working`);
    this.progressReports.delete(`${id}:input-required`);
    const ctx = this.inFlight.get(id);
    if (ctx) ctx.ended = true;
  }

  /**
   * The agent's own updates subject, where the mesh router repeats the changes of the tasks it
   * sent: its credential may not subscribe to `mesh.v1.task-updated`, every task change of the org
   * (ADR 0011). An id that cannot be a subject token has none: waitForTask then only polls.
   */
  private ensureUpdateSubscription(): void {
    const subject = agentUpdatesSubject(this.agentId);
    if (this.updates || !subject || this.bus.nc.isClosed()) return;
    this.updates = this.bus.nc.subscribe(this.bus.subject(subject), {
      callback: (error, msg) => {
        if (error) return;
        let change: TaskChange;
        try {
          change = TaskChange.parse(JSON.parse(new TextDecoder().decode(msg.data)));
        } catch {
          return;
        }
        for (const wake of this.waiters.get(change.task.id) ?? []) wake();
        if (change.task.from.agentId === this.agentId) {
          for (const listener of this.updateListeners) {
            try {
              listener(change);
            } catch (err) {
              this.logger.error({ err, taskId: change.task.id }, 'task update listener failed');
            }
          }
        }
      },
    });
  }

  private waitForChange(id: string): { promise: Promise<void>; cancel: () => void } {
    let wake!: () => void;
    const promise = new Promise<void>((resolve) => (wake = resolve));
    const set = this.waiters.get(id) ?? new Set();
    set.add(wake);
    this.waiters.set(id, set);
    return {
      promise,
      cancel: () => {
        set.delete(wake);
        if (!set.size) this.waiters.delete(id);
      },
    };
  }

  private async heartbeatLoop(): Promise<void> {
    const interval = this.options.heartbeatIntervalMs ?? 15_000;
    if (interval <= 0 || !this.options.configHash || this.stopping) return;
    let next = interval;
    try {
      const answer = await this.heartbeat();
      if (answer) next = Math.max(1_000, Math.min(interval, Math.floor(answer.timeoutMs / 3)));
      if (this.heartbeatFailing)
        this.logger.info({ agentId: this.agentId }, 'heartbeats reach the registry again');
      this.heartbeatFailing = false;
    } catch (error) {
      // The registry may be down or not up yet: keep trying, say so once.
      if (!this.heartbeatFailing)
        this.logger.warn(
          { agentId: this.agentId, code: error instanceof AppError ? error.code : 'internal' },
          'heartbeat failed',
        );
      this.heartbeatFailing = true;
    }
    if (this.stopping) return;
    this.heartbeatTimer = setTimeout(() => void this.heartbeatLoop(), next);
    this.heartbeatTimer.unref();
  }

  private async onDelivery(task: Task, delivery: EventContext): Promise<void> {
    // Stopping: back to the inbox for another instance (or this one after its restart).
    if (this.stopping) throw new AppError('unavailable', 'agent is stopping');
    const id = task.id;
    if (this.inFlight.has(id) || this.handled.has(id)) {
      this.logger.debug({ taskId: id, deliveryCount: delivery.deliveryCount }, 'duplicate delivery dropped');
      return;
    }
    const ctx = new TaskContextImpl(this, task, delivery, this.shutdown.signal);
    // Claimed before the first await, so a concurrent duplicate sees it.
    this.inFlight.set(id, ctx);
    try {
      // A redelivery, or a copy delivered later (an escalation), may describe a task that moved on.
      if (delivery.deliveryCount > 1 || task.state !== 'submitted') {
        const current = await this.fetchStatus(id, { includeHistory: false }, ctx.headers());
        if (
          isTerminal(current.state) ||
          (current.assignee && current.assignee.agentId !== this.agentId && current.escalatedTo === null)
        ) {
          this.logger.debug(
            { taskId: id, state: current.state },
            'delivery of a task that ended or was taken elsewhere dropped',
          );
          this.handled.add(id);
          return;
        }
        ctx.task = current;
      }
      await this.dispatch(ctx, delivery);
      this.handled.add(id);
    } catch (error) {
      const retry = error instanceof AppError && error.retryable && !ctx.ended;
      if (!retry) this.handled.add(id);
      throw error;
    } finally {
      this.inFlight.delete(id);
    }
  }

  private async dispatch(ctx: TaskContextImpl, delivery: EventContext): Promise<void> {
    const task = ctx.task;
    const log = {
      taskId: task.id,
      kind: task.kind,
      type: task.type,
      fromRole: task.from.role,
      deliveryCount: delivery.deliveryCount,
    };
    if (task.kind === 'notification') {
      // Acknowledged on receipt: the sender learns it arrived even if the handler is slow or fails.
      if (task.state === 'submitted') await ctx.complete({ received: true });
      if (this.notificationHandler) {
        await this.notificationHandler(task, ctx).catch((error: unknown) =>
          this.logger.error({ ...log, err: error }, 'notification handler failed'),
        );
      }
      this.logger.info(log, 'notification received');
      return;
    }
    const handler = task.kind === 'approval' ? this.approvalHandler : this.taskHandler;
    if (!handler) {
      await ctx.reject(
        `agent ${this.agentId} takes no ${task.kind === 'approval' ? 'approval requests' : 'tasks'}`,
      );
      this.logger.warn(log, 'task rejected: no handler for its kind');
      return;
    }
    this.logger.info(log, 'task received');
    try {
      if ((this.options.autoStart ?? true) && task.state === 'submitted') await ctx.progress('working');
      const result = await handler(task, ctx);
      if (!ctx.ended) {
        if (task.kind === 'task') await ctx.complete(result ?? null);
        else if (isDecisionResult(result)) await ctx.decide(result.decision, result.comment);
        else this.logger.warn(log, 'approval handler ended without a decision; the approval stays open');
      }
      this.logger.info({ ...log, ended: ctx.ended }, 'task handled');
    } catch (error) {
      const app = error instanceof AppError ? error : undefined;
      // Stopping, or a passing failure (model or mesh unavailable) on a delivery that will come again: retry later.
      const lastDelivery = delivery.deliveryCount >= (this.options.maxDeliver ?? 10);
      if (!ctx.ended && (this.stopping || (app?.retryable && !lastDelivery))) {
        this.logger.warn(
          { ...log, code: app?.code ?? 'internal' },
          'task handling interrupted, the delivery will be retried',
        );
        throw app ?? new AppError('unavailable', 'task handling interrupted', { cause: error });
      }
      if (!ctx.ended) {
        const reason = app ? `${app.code}: ${app.message}` : 'the agent failed while handling the task';
        await ctx
          .fail(reason.slice(0, 2000))
          .catch((failError: unknown) =>
            this.logger.error({ ...log, err: failError }, 'could not report the failure'),
          );
      }
      this.logger.error(
        { ...log, code: app?.code ?? 'internal', err: app ? undefined : error },
        'task failed',
      );
    }
  }
}

class TaskContextImpl implements TaskContext {
  ended = false;

  constructor(
    readonly agent: MeshAgent,
    public task: Task,
    private readonly delivery: EventContext,
    readonly signal: AbortSignal,
  ) {}

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

  async updateTask(
    id: string,
    state: UpdateState,
    extra: { result?: unknown; reason?: string } = {},
  ): Promise<Task> {
    const task = await this.agent.updateTask(id, state, extra, this.headers());
    if (id === this.task.id) {
      this.task = task;
      if (isTerminal(task.state)) this.ended = true;
    }
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
    return this.agent.sendTask(
      to,
      type,
      input,
      this.createOptions('send-task', [to, type, input], options),
      this.headers(),
    );
  }

  requestApproval(
    to: RecipientInput,
    subject: string,
    details?: unknown,
    options: CreateOptions = {},
  ): Promise<Task> {
    return this.agent.requestApproval(
      to,
      subject,
      details,
      this.createOptions('request-approval', [to, subject, details], options),
      this.headers(),
    );
  }

  notify(to: RecipientInput, message: string, options: CreateOptions = {}): Promise<Task> {
    return this.agent.notify(
      to,
      message,
      this.createOptions('notify', [to, message], options),
      this.headers(),
    );
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
   * created instead of creating them twice.
   */
  private createOptions(operation: string, args: unknown[], options: CreateOptions): CreateOptions {
    const contextId = options.contextId ?? this.task.contextId;
    const idempotencyKey =
      options.idempotencyKey ??
      `${this.task.id}:${createHash('sha256')
        .update(JSON.stringify([operation, contextId, ...args]))
        .digest('base64url')
        .slice(0, 32)}`;
    return { ...options, contextId, idempotencyKey };
  }
}

function createFields(options: CreateOptions): {
  contextId?: string;
  deadline?: string;
  priority?: TaskPriority;
} {
  return {
    ...(options.contextId !== undefined ? { contextId: options.contextId } : {}),
    ...(options.deadline !== undefined ? { deadline: options.deadline } : {}),
    ...(options.priority !== undefined ? { priority: options.priority } : {}),
  };
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref?.();
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
