import type {
  AgentCard,
  CancelTaskRequest,
  DeleteTaskPushNotificationConfigRequest,
  GetExtendedAgentCardRequest,
  GetTaskPushNotificationConfigRequest,
  GetTaskRequest,
  ListTaskPushNotificationConfigsRequest,
  ListTaskPushNotificationConfigsResponse,
  ListTasksRequest,
  ListTasksResponse,
  Message,
  SendMessageRequest,
  StreamResponse,
  SubscribeToTaskRequest,
  Task as A2ATask,
  TaskPushNotificationConfig,
} from '@a2a-js/sdk';
import type { A2ARequestHandler, ServerCallContext } from '@a2a-js/sdk/server';
import {
  ExtendedAgentCardNotConfiguredError,
  RequestMalformedError,
  TaskNotFoundError,
  UnsupportedOperationError,
} from '@a2a-js/sdk/errors';
import {
  AddTaskInput,
  CancelTask,
  GetTask,
  ListTasks,
  SendTask,
  TaskChange,
  type RpcDefinition,
  type RpcRequestInput,
  type RpcResponse,
  type Task as MeshTask,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { Caller } from '../auth/caller.js';
import type { EventHub, EventSubscription } from '../events/event-hub.js';
import { A2APushConfigs, type PushOptions } from './a2a-push-configs.js';
import { planSubjects } from '../events/subscription.js';
import { ORGMESH_A2A_CODES, OrgmeshA2AError, toA2AError } from './a2a-errors.js';
import { callerOf, owns, signalOf, stringField, targetOf, type A2ATarget } from './a2a-context.js';
import {
  changeEvents,
  continuedInputOf,
  idempotencyKeyOf,
  latestMessageIdOf,
  isFinalOrInterrupted,
  isTerminal,
  meshInputOf,
  meshStateOf,
  taskEvent,
  toA2ATask,
} from './a2a-mapping.js';

export { CALLER_KEY, SIGNAL_KEY, TARGET_KEY, type A2ATarget } from './a2a-context.js';

const TASK_UPDATES = 'mesh.v1.task-updated';
/** Task type of a mesh task created over A2A unless the sender names one (`metadata.type`). */
export const DEFAULT_A2A_TASK_TYPE = 'a2a-message';

export interface MeshA2AOptions {
  bus: MessageBus;
  hub: EventHub;
  rpcTimeoutMs: number;
  /** How long a blocking SendMessage waits for a terminal or interrupted state before answering with the task as it is. */
  blockingTimeoutMs: number;
  /** Push-notification configs; undefined: not offered (PushNotificationNotSupported). */
  push?: PushOptions;
  /** The endpoint's extended card, built with the caller's token; undefined: not offered. */
  extendedCard?: (target: A2ATarget, caller: Caller) => Promise<AgentCard>;
}

/**
 * The A2A request handler over the mesh. The SDK's own DefaultRequestHandler keeps its event bus in
 * the process and runs an executor in it; here nothing is held in memory: a SendMessage is a mesh
 * SendTask (the caller's token forwarded, so policy applies as for every mesh task), get, cancel and
 * list are the mesh's RPCs, and every stream is read from the MESH JetStream stream. Any gateway
 * replica serves any task.
 */
export class MeshA2AHandler implements A2ARequestHandler {
  /**
   * One handler serves every endpoint: the transport layer puts the target (agent or org), the
   * verified caller and the request's abort signal in the call context.
   * `versionCard` is what the SDK's transports read to check the client's A2A-Version against the
   * supported interfaces; the cards clients read are served per agent at the well-known paths.
   */
  private readonly pushConfigs: A2APushConfigs;

  constructor(
    private readonly options: MeshA2AOptions,
    private readonly versionCard: AgentCard,
  ) {
    this.pushConfigs = new A2APushConfigs(options.push, (id, caller, target) =>
      this.read(id, caller, target),
    );
  }

  async getAgentCard(): Promise<AgentCard> {
    return this.versionCard;
  }

  /**
   * The full card (the registry's descriptions of the agent, or the org's agents per role), for a
   * caller with a token: the card at the well-known path is public and holds only what a client
   * needs to connect (ADR 0018).
   */
  async getAuthenticatedExtendedAgentCard(
    _params: GetExtendedAgentCardRequest,
    context: ServerCallContext,
  ): Promise<AgentCard> {
    if (!this.options.extendedCard) throw new ExtendedAgentCardNotConfiguredError();
    try {
      return await this.options.extendedCard(targetOf(context), callerOf(context));
    } catch (error) {
      throw toA2AError(error);
    }
  }

  async sendMessage(params: SendMessageRequest, context: ServerCallContext): Promise<Message | A2ATask> {
    const caller = callerOf(context);
    const message = this.checkMessage(params);
    if (params.configuration?.returnImmediately) {
      return toA2ATask(
        await this.create(params, message, caller, targetOf(context)),
        params.configuration.historyLength,
      );
    }
    // Blocking (the A2A default): wait for a terminal or interrupted state. The subscription opens
    // before the task exists, so no change can fall between creating it and watching it.
    const subscription = await this.subscribe(caller, context);
    try {
      const created = await this.create(params, message, caller, targetOf(context));
      let task = await this.current(created, caller, context);
      if (isFinalOrInterrupted(task)) return toA2ATask(task, params.configuration?.historyLength);
      const deadline = AbortSignal.timeout(this.options.blockingTimeoutMs);
      const stop = () => void subscription.close();
      deadline.addEventListener('abort', stop, { once: true });
      try {
        for await (const change of this.changes(subscription, task)) {
          task = change;
          if (isFinalOrInterrupted(task)) break;
        }
      } finally {
        deadline.removeEventListener('abort', stop);
      }
      return toA2ATask(task, params.configuration?.historyLength);
    } finally {
      await subscription.close();
    }
  }

  async *sendMessageStream(
    params: SendMessageRequest,
    context: ServerCallContext,
  ): AsyncGenerator<StreamResponse, void, undefined> {
    const caller = callerOf(context);
    const message = this.checkMessage(params);
    // A stream ends where a blocking send answers: at a terminal or interrupted state.
    yield* this.follow(caller, context, isFinalOrInterrupted, async () =>
      this.current(await this.create(params, message, caller, targetOf(context)), caller, context),
    );
  }

  /**
   * SubscribeToTask (tasks/resubscribe): the task as it is now, then every later change until it ends.
   * The subscription is positioned before the task is read, and changes are ordered by the task's
   * version, so a client that lost its stream on another replica misses no state: what happened
   * meanwhile is in the snapshot, what happens next arrives as events.
   */
  async *resubscribe(
    params: SubscribeToTaskRequest,
    context: ServerCallContext,
  ): AsyncGenerator<StreamResponse, void, undefined> {
    const caller = callerOf(context);
    yield* this.follow(
      caller,
      context,
      (task) => isTerminal(task.state),
      async () => {
        const task = await this.read(params.id, caller, targetOf(context));
        if (isTerminal(task.state)) {
          throw new UnsupportedOperationError(
            `task ${task.id} is ${task.state}: a finished task has no stream`,
          );
        }
        return task;
      },
    );
  }

  /**
   * A task's stream: the subscription opens first, then `start` yields the task (created or read),
   * whose state is the first event; then its later changes, until one `ends` it or the client leaves.
   */
  private async *follow(
    caller: Caller,
    context: ServerCallContext,
    ends: (task: MeshTask) => boolean,
    start: () => Promise<MeshTask>,
  ): AsyncGenerator<StreamResponse, void, undefined> {
    const subscription = await this.subscribe(caller, context);
    try {
      const task = await start();
      yield taskEvent(task);
      if (ends(task)) return;
      for await (const change of this.changes(subscription, task)) {
        yield* changeEvents(change);
        if (ends(change)) return;
      }
    } finally {
      await subscription.close();
    }
  }

  async getTask(params: GetTaskRequest, context: ServerCallContext): Promise<A2ATask> {
    if (params.historyLength !== undefined && params.historyLength < 0) {
      throw new RequestMalformedError('historyLength must not be negative');
    }
    return toA2ATask(await this.read(params.id, callerOf(context), targetOf(context)), params.historyLength);
  }

  async cancelTask(params: CancelTaskRequest, context: ServerCallContext): Promise<A2ATask> {
    const caller = callerOf(context);
    // Read first: through an agent's endpoint only that agent's tasks exist.
    await this.read(params.id, caller, targetOf(context));
    const reason = stringField(params.metadata, 'reason');
    try {
      const task = await this.call(caller, CancelTask, { id: params.id, ...(reason ? { reason } : {}) });
      return toA2ATask(task);
    } catch (error) {
      throw toA2AError(error, { notCancelable: true });
    }
  }

  async listTasks(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    const caller = callerOf(context);
    const target = targetOf(context);
    const pageSize = params.pageSize ?? 50;
    if (pageSize < 1 || pageSize > 100) throw new RequestMalformedError('pageSize must be between 1 and 100');
    const state = meshStateOf(params.status);
    const after = params.statusTimestampAfter ? Date.parse(params.statusTimestampAfter) : undefined;
    if (after !== undefined && Number.isNaN(after)) {
      throw new RequestMalformedError('statusTimestampAfter must be an RFC 3339 timestamp');
    }
    // Every filter is the mesh's, so the count and the pages see the same tasks.
    const page = await this.callMapped(caller, ListTasks, {
      ...(target.kind === 'agent' ? { agentId: target.agentId, direction: 'inbound' as const } : {}),
      ...(params.contextId ? { contextId: params.contextId } : {}),
      ...(state ? { state } : {}),
      ...(after !== undefined ? { updatedAfter: new Date(after).toISOString() } : {}),
      kind: 'task',
      limit: pageSize,
      count: true,
      ...(params.pageToken ? { cursor: params.pageToken } : {}),
    });
    const tasks = page.items.map((t) => {
      const task = toA2ATask(t, params.historyLength);
      return params.includeArtifacts ? task : { ...task, artifacts: [] };
    });
    // totalSize: every task of these filters the caller may see (the mesh counts up to 10 000).
    return {
      tasks,
      nextPageToken: page.nextCursor ?? '',
      pageSize,
      totalSize: page.total ?? tasks.length,
    };
  }

  createTaskPushNotificationConfig(
    params: TaskPushNotificationConfig,
    context: ServerCallContext,
  ): Promise<TaskPushNotificationConfig> {
    return this.pushConfigs.create(params, context);
  }

  getTaskPushNotificationConfig(
    params: GetTaskPushNotificationConfigRequest,
    context: ServerCallContext,
  ): Promise<TaskPushNotificationConfig> {
    return this.pushConfigs.get(params, context);
  }

  listTaskPushNotificationConfigs(
    params: ListTaskPushNotificationConfigsRequest,
    context: ServerCallContext,
  ): Promise<ListTaskPushNotificationConfigsResponse> {
    return this.pushConfigs.list(params, context);
  }

  deleteTaskPushNotificationConfig(
    params: DeleteTaskPushNotificationConfigRequest,
    context: ServerCallContext,
  ): Promise<void> {
    return this.pushConfigs.delete(params, context);
  }

  private checkMessage(params: SendMessageRequest): Message {
    const message = params.message;
    if (!message) throw new RequestMalformedError('message is required');
    if (typeof message.messageId !== 'string' || !message.messageId) {
      throw new RequestMalformedError('message.messageId is required');
    }
    if (!Array.isArray(message.parts) || !message.parts.length) {
      throw new RequestMalformedError('message.parts must not be empty');
    }
    return message;
  }

  /**
   * The mesh task of a message: a new one (SendTask), or, for a message naming its task
   * (`message.taskId`), that task given the message as input (continueTask). A push config with the
   * message is checked before anything is written, so a refused one changes nothing.
   */
  private async create(
    params: SendMessageRequest,
    message: Message,
    caller: Caller,
    target: A2ATarget,
  ): Promise<MeshTask> {
    const pushConfig = params.configuration?.taskPushNotificationConfig;
    const push = pushConfig ? this.pushConfigs.orRefuse() : undefined;
    if (pushConfig && push) await this.pushConfigs.checkCallback(pushConfig.url, push.allow);
    const task = message.taskId
      ? await this.continueTask(message, caller, target)
      : await this.sendTask(params, message, caller, target);
    // Stored right after the task is created. A change the agent made before that reached no config:
    // the task is read once more and, if it moved, its current state is pushed to this config (in
    // the background: the push retries with backoff, the answer does not wait for it).
    if (pushConfig && push) {
      const stored = await this.pushConfigs.store(push.store, pushConfig, task.id, caller);
      const now = await this.callMapped(caller, GetTask, { id: task.id, includeHistory: false });
      if (now.version > task.version && push.catchUp) {
        void push.catchUp(stored, now); // never rejects: the dispatcher logs what failed
      }
    }
    return task;
  }

  /** The mesh SendTask of a message, sent with the caller's token, as REST's POST /v1/tasks does. */
  private sendTask(
    params: SendMessageRequest,
    message: Message,
    caller: Caller,
    target: A2ATarget,
  ): Promise<MeshTask> {
    const metadata = { ...message.metadata, ...params.metadata } as Record<string, unknown>;
    let to: RpcRequestInput<typeof SendTask>['to'];
    if (target.kind === 'agent') {
      to = { agentId: target.agentId };
    } else {
      const role = stringField(metadata, 'role');
      if (!role) {
        throw new RequestMalformedError(
          'the org endpoint routes by role: name one in metadata.role (a skill id of the org card)',
        );
      }
      to = { role };
    }
    const type = stringField(metadata, 'type') ?? DEFAULT_A2A_TASK_TYPE;
    const priority = stringField(metadata, 'priority');
    return this.callMapped(
      caller,
      SendTask,
      {
        to,
        type,
        input: meshInputOf(message),
        ...(message.contextId ? { contextId: message.contextId } : {}),
        ...(priority ? { priority: priority as RpcRequestInput<typeof SendTask>['priority'] } : {}),
      },
      idempotencyKeyOf(message.messageId),
    );
  }

  /**
   * A message continuing a task (A2A's multi-turn: `message.taskId` set), as the mesh's AddTaskInput:
   * the message becomes the task's input (the earlier turns kept), an input-required task goes back
   * to working and the task is delivered again to its agent. A task the caller did not send is
   * TaskNotFound, as one it cannot see (nothing revealed); a finished one is UnsupportedOperation
   * (A2A: a terminal task takes no more messages).
   */
  private async continueTask(message: Message, caller: Caller, target: A2ATarget): Promise<MeshTask> {
    const notFound = () => new TaskNotFoundError(`task ${String(message.taskId).slice(0, 100)} not found`);
    // A task the mesh refuses to show this caller (not a party) is not found here either.
    const task = await this.read(message.taskId, caller, target).catch((error: unknown) => {
      const denied =
        error instanceof OrgmeshA2AError && error.envelopeCode === ORGMESH_A2A_CODES.permissionDenied;
      throw denied ? notFound() : error;
    });
    if (task.from.agentId !== caller.subject) throw notFound();
    if (isTerminal(task.state)) {
      throw new UnsupportedOperationError(
        `task ${task.id} is ${task.state}: a finished task takes no more messages; send a new message without taskId`,
      );
    }
    if (message.contextId && message.contextId !== task.contextId) {
      throw new RequestMalformedError(`message.contextId is not the contextId of task ${task.id}`);
    }
    // A retried message (its messageId is the task's latest input) is answered with the task as it is.
    if (latestMessageIdOf(task) === message.messageId) return task;
    try {
      return await this.call(caller, AddTaskInput, { id: task.id, input: continuedInputOf(task, message) });
    } catch (error) {
      // Finished meanwhile (an illegal transition): as above, UnsupportedOperation.
      throw toA2AError(error);
    }
  }

  /**
   * The task as it is now. A retried send (same messageId) is answered with the task as it was first
   * created, so a blocking or streaming send reads it again once its subscription is positioned:
   * nothing after this read is missed. (One more RPC on those paths; the SendTask reply alone cannot
   * tell a replay from a first send.)
   */
  private current(created: MeshTask, caller: Caller, context: ServerCallContext): Promise<MeshTask> {
    return this.read(created.id, caller, targetOf(context));
  }

  /** The task, if the caller may see it (the mesh decides) and it belongs to this endpoint. */
  private async read(id: string | undefined, caller: Caller, target: A2ATarget): Promise<MeshTask> {
    // A missing id is malformed input, as the SDK's own handler answers it; a wrong one names no task.
    if (typeof id !== 'string' || !id.trim()) throw new RequestMalformedError('the task id is required');
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
      // Mesh task ids are UUIDs: anything else names no task.
      throw new TaskNotFoundError(`task ${JSON.stringify(id.slice(0, 100))} not found`);
    }
    const task = await this.callMapped(caller, GetTask, { id, includeHistory: false });
    if (!owns(target, task)) throw new TaskNotFoundError(`task ${id} not found`);
    return task;
  }

  private async subscribe(caller: Caller, context: ServerCallContext): Promise<EventSubscription> {
    let subscription: EventSubscription;
    try {
      subscription = await this.options.hub.subscribe({ plan: planSubjects(TASK_UPDATES), caller });
    } catch (error) {
      throw toA2AError(error);
    }
    // The client left: end the stream (its iterator returns, the consumer stops).
    const signal = signalOf(context);
    if (signal) {
      if (signal.aborted) void subscription.close();
      else signal.addEventListener('abort', () => void subscription.close(), { once: true });
    }
    return subscription;
  }

  /** The task's later changes, in version order (older or repeated ones, as after a redelivery, skipped). */
  private async *changes(subscription: EventSubscription, from: MeshTask): AsyncGenerator<MeshTask> {
    let version = from.version;
    for await (const event of subscription) {
      if (event.subject !== TASK_UPDATES) continue;
      const payload = event.payload as { task?: { id?: unknown } } | null;
      if (payload?.task?.id !== from.id) continue;
      const parsed = TaskChange.safeParse(payload);
      if (!parsed.success || parsed.data.task.version <= version) continue;
      version = parsed.data.task.version;
      yield parsed.data.task;
    }
  }

  private call<R extends RpcDefinition>(
    caller: Caller,
    rpc: R,
    payload: RpcRequestInput<R>,
    idempotencyKey?: string,
  ): Promise<RpcResponse<R>> {
    return this.options.bus.request(rpc, payload, {
      authorization: caller.authorization,
      // Scoped to the caller, as at REST, so two callers' keys never meet.
      idempotencyKey: idempotencyKey === undefined ? undefined : `${caller.subject}/${idempotencyKey}`,
      timeoutMs: this.options.rpcTimeoutMs,
    });
  }

  private async callMapped<R extends RpcDefinition>(
    caller: Caller,
    rpc: R,
    payload: RpcRequestInput<R>,
    idempotencyKey?: string,
  ): Promise<RpcResponse<R>> {
    try {
      return await this.call(caller, rpc, payload, idempotencyKey);
    } catch (error) {
      throw toA2AError(error);
    }
  }
}
