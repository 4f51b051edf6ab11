import { randomUUID } from 'node:crypto';
import {
  AgentHeartbeat,
  AppError,
  CancelTask,
  Decide,
  GetTask,
  InboxDelivery,
  ListTasks,
  Notify,
  RequestApproval,
  SendTask,
  UpdateTask,
  agentInboxes,
  type ApprovalDecision,
  type RecipientInput,
  type RpcDefinition,
  type RpcRequestInput,
  type RpcResponse,
  type Task,
} from '@orgmesh/contracts';
import { connectBus, type ConsumerHandle, type EventContext, type MessageBus } from '@orgmesh/messaging';
import { createLogger, type Logger } from '@orgmesh/telemetry';
import {
  createFields,
  type CreateOptions,
  type ListFilter,
  type MeshAgentOptions,
  type UpdateState,
} from './agent-options.js';
import { Heartbeats } from './heartbeats.js';
import { InboxDeliveries } from './inbox-deliveries.js';
import { LlmClient, type LlmClientOptions } from './llm-client.js';
import { meshStreamsReady } from './mesh-streams.js';
import {
  isTerminal,
  type NotificationHandler,
  type TaskHandler,
  type TaskUpdateListener,
} from './task-context.js';
import { delay, TaskUpdates } from './task-updates.js';
import { GatewayTokenSource, type AccessToken, type AccessTokenSource } from './token-source.js';

// The agent's parts live beside it: its options (agent-options.ts), the context a handler gets
// (task-context.ts), what it does with a delivery (inbox-deliveries.ts), the changes of the tasks
// it sent (task-updates.ts), its heartbeats (heartbeats.ts). Their public names are exported here too.
export type { AgentCredentials, CreateOptions, ListFilter, MeshAgentOptions } from './agent-options.js';
export {
  isDecisionResult,
  isTerminal,
  type HandlerResult,
  type NotificationHandler,
  type TaskContext,
  type TaskHandler,
  type TaskUpdateListener,
} from './task-context.js';

/**
 * An agent on the mesh: it authenticates with client credentials (token refreshed before expiry),
 * consumes its role's inbox and its own from JetStream, hands each turn of a task to its handler once
 * per process (redeliveries of handled turns or ended tasks are dropped; input its sender added is
 * the next turn), reports progress and results, calls
 * the mesh with its JWT in the `authorization` header, heartbeats to the registry with its config
 * hash, and stops gracefully (no new deliveries, handlers in flight finish, connection drained).
 */
export class MeshAgent {
  readonly agentId: string;
  readonly role: string;
  readonly logger: Logger;
  private readonly consumers: ConsumerHandle[] = [];
  private readonly deliveries: InboxDeliveries;
  private readonly updates: TaskUpdates;
  private readonly heartbeats: Heartbeats;
  /** Progress reports per task, turn and state, so a second `working` (after input-required) gets its own idempotency key. */
  private readonly progressReports = new Map<string, Map<string, number>>();
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
    this.deliveries = new InboxDeliveries(
      this,
      options,
      this.shutdown.signal,
      () => this.stopping !== undefined,
    );
    this.updates = new TaskUpdates(bus, this.agentId, logger);
    this.heartbeats = new Heartbeats(bus, this.agentId, options, () => this.authorization(), logger);
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

  /**
   * Handles tasks (send_task) addressed to this agent or its role, and each later turn (input the
   * sender added). The returned value completes the task unless the handler ended it or asked for
   * input (`ctx.requestInput`): then the task waits for its next turn.
   */
  onTask(handler: TaskHandler): this {
    this.deliveries.handlers.task = handler;
    return this;
  }

  /** Handles approval requests. Return `{decision, comment}` or call `ctx.decide`; otherwise the approval stays open. */
  onApproval(handler: TaskHandler): this {
    this.deliveries.handlers.approval = handler;
    return this;
  }

  /** Handles notifications; they are acknowledged (completed) on receipt, before the handler runs. */
  onNotification(handler: NotificationHandler): this {
    this.deliveries.handlers.notification = handler;
    return this;
  }

  /** Changes of tasks this agent sent, while it is connected (core NATS: none are replayed after a restart). */
  onTaskUpdate(listener: TaskUpdateListener): () => void {
    return this.updates.listen(listener);
  }

  /** Starts consuming the role inbox and the agent inbox, and heartbeating. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    // The agent may come up before the mesh router: its streams exist, or are waited for.
    const secured = this.options.nkeySeedFile !== undefined;
    await meshStreamsReady(
      this.bus,
      this.logger,
      { agentId: this.agentId, secured },
      () => this.stopping !== undefined,
    );
    await this.consumeInboxes();
    this.updates.subscribe();
    await this.heartbeats.loop();
    this.logger.info({ agentId: this.agentId, role: this.role }, 'agent consuming its inboxes');
  }

  /**
   * Stops taking deliveries from both inboxes (handlers in flight finish; the durables keep their
   * place), as if this agent were not running: its tasks wait in the inboxes for another instance of
   * the role, or for `resumeInboxes()`. A bridge pauses while the agent it stands for is unreachable.
   */
  async pauseInboxes(): Promise<void> {
    if (this.consumers.length === 0) return;
    const consumers = this.consumers.splice(0);
    await Promise.allSettled(consumers.map((c) => c.stop()));
    this.logger.info({ agentId: this.agentId }, 'agent stopped taking deliveries');
  }

  /** Takes deliveries again after `pauseInboxes()`; a no-op before `start()`, while consuming or stopping. */
  async resumeInboxes(): Promise<void> {
    if (!this.started || this.stopping || this.consumers.length > 0) return;
    await this.consumeInboxes();
    this.logger.info({ agentId: this.agentId }, 'agent takes deliveries again');
  }

  /** Whether the inboxes are being consumed (started, not paused). */
  get consuming(): boolean {
    return this.consumers.length > 0;
  }

  private async consumeInboxes(): Promise<void> {
    const consumeOptions = {
      concurrency: this.options.concurrency ?? 4,
      maxDeliver: this.options.maxDeliver ?? 10,
      ackWaitMs: this.options.ackWaitMs ?? 10_000,
      backoffMs: this.options.backoffMs ?? [500, 2_000, 5_000, 10_000],
    };
    const handle = (task: Task, ctx: EventContext) => this.deliveries.onDelivery(task, ctx);
    // Tracked only once both consume: a half-started pair does not count as consuming.
    const started: ConsumerHandle[] = [];
    for (const inbox of agentInboxes(this)) {
      const subjectOptions = { ...consumeOptions, subject: inbox.subject };
      started.push(await this.bus.consume(InboxDelivery, inbox.durable, handle, subjectOptions));
    }
    this.consumers.push(...started);
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
      inFlight: this.deliveries.inFlightCount,
      lastHeartbeatAt: this.heartbeats.lastAt?.toISOString() ?? null,
      drift: this.heartbeats.drift,
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
    const fields = { to, type, ...(input !== undefined ? { input: input as never } : {}) };
    return this.create(SendTask, fields, options, headers);
  }

  requestApproval(
    to: RecipientInput,
    subject: string,
    details?: unknown,
    options: CreateOptions = {},
    headers?: Record<string, string>,
  ): Promise<Task> {
    const fields = { to, subject, ...(details !== undefined ? { details: details as never } : {}) };
    return this.create(RequestApproval, fields, options, headers);
  }

  notify(
    to: RecipientInput,
    message: string,
    options: CreateOptions = {},
    headers?: Record<string, string>,
  ): Promise<Task> {
    return this.create(Notify, { to, message }, options, headers);
  }

  /**
   * Every create: the kind's own fields with the create options, under the caller's idempotency key
   * or a fresh one (the same on each retry of the call, so a retry never creates twice).
   */
  private create<R extends typeof SendTask | typeof RequestApproval | typeof Notify>(
    rpc: R,
    fields: RpcRequestInput<R>,
    options: CreateOptions,
    headers: Record<string, string> | undefined,
  ): Promise<RpcResponse<R>> {
    const payload = { ...fields, ...createFields(options) };
    return this.call(rpc, payload, options.idempotencyKey ?? randomUUID(), headers);
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

  /**
   * Reports progress or the end of a task this agent works on (update-task). `turnVersion` is the
   * version of the task the turn was delivered at (1, the request, unless its sender added input):
   * progress keys are per turn, so a later turn's `input-required` is not answered with an earlier one's.
   */
  async updateTask(
    id: string,
    state: UpdateState,
    extra: { result?: unknown; reason?: string } = {},
    headers?: Record<string, string>,
    turnVersion = 1,
  ): Promise<Task> {
    const task = await this.call(
      UpdateTask,
      {
        id,
        state,
        ...(extra.result !== undefined ? { result: extra.result as never } : {}),
        ...(extra.reason !== undefined ? { reason: extra.reason } : {}),
      },
      this.updateKey(id, state, turnVersion),
      headers,
    );
    if (isTerminal(task.state)) this.markEnded(id);
    else this.deliveries.observe(task);
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
   * it as it is then. Woken by the changes the mesh repeats to this agent (the tasks it sent
   * and the tasks assigned to it), with a slow poll as a safety net (the only way for any other task).
   */
  async waitForTask(
    id: string,
    options: { timeoutMs?: number; signal?: AbortSignal; headers?: Record<string, string> } = {},
  ): Promise<Task> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    this.updates.subscribe();
    for (;;) {
      const wake = this.updates.waitForChange(id);
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
  heartbeat(): Promise<RpcResponse<typeof AgentHeartbeat> | undefined> {
    return this.heartbeats.send();
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
    this.heartbeats.stop();
    const grace = this.options.shutdownGraceMs ?? 10_000;
    const abortTimer = setTimeout(() => this.shutdown.abort(), grace);
    abortTimer.unref();
    // Stop pulling; each consumer waits for its handlers in flight (they ack, or nak when aborted).
    await Promise.race([Promise.allSettled(this.consumers.map((c) => c.stop())), delay(grace + 5_000)]);
    clearTimeout(abortTimer);
    this.updates.stop();
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
   * state reported again later in the same handling (working after input-required) is a new step, and
   * so is one of a later turn (`<id>@v<version>:<state>`, the version the turn was delivered at).
   */
  private updateKey(id: string, state: UpdateState, turnVersion = 1): string {
    if (state !== 'working' && state !== 'input-required') return `${id}:${state}`;
    const key = turnVersion > 1 ? `${id}@v${turnVersion}:${state}` : `${id}:${state}`;
    const reports = this.progressReports.get(id) ?? new Map<string, number>();
    this.progressReports.set(id, reports);
    const n = (reports.get(key) ?? 0) + 1;
    reports.set(key, n);
    return n === 1 ? key : `${key}:${n}`;
  }

  private markEnded(id: string): void {
    this.progressReports.delete(id);
    this.deliveries.markEnded(id);
  }
}
