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
  Task,
  TaskPushNotificationConfig,
} from '@a2a-js/sdk';
import type { A2ARequestHandler, ServerCallContext } from '@a2a-js/sdk/server';
import { A2AError } from '@a2a-js/sdk/errors';
import type { Logger } from '@orgmesh/telemetry';
import { internalError } from './a2a-errors.js';

/**
 * The handler as the transports see it: whatever it throws is an A2A error. An error it did not
 * expect (a bug) is logged once (its type, not its message, which may quote input) and leaves as
 * -32603 without a message, as the REST edge's last-resort boundary does.
 */
export class GuardedHandler implements A2ARequestHandler {
  constructor(
    private readonly inner: A2ARequestHandler,
    private readonly logger: Logger,
  ) {}

  private guard(error: unknown): Error {
    if (error instanceof A2AError) return error;
    this.logger.error(
      { errorType: error instanceof Error ? error.name : typeof error },
      'a2a handler failed unexpectedly',
    );
    return internalError();
  }

  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.guard(error);
    }
  }

  private async *stream(
    run: () => AsyncGenerator<StreamResponse, void, undefined>,
  ): AsyncGenerator<StreamResponse, void, undefined> {
    try {
      yield* run();
    } catch (error) {
      throw this.guard(error);
    }
  }

  getAgentCard(): Promise<AgentCard> {
    return this.call(() => this.inner.getAgentCard());
  }
  getAuthenticatedExtendedAgentCard(
    p: GetExtendedAgentCardRequest,
    c: ServerCallContext,
  ): Promise<AgentCard> {
    return this.call(() => this.inner.getAuthenticatedExtendedAgentCard(p, c));
  }
  sendMessage(p: SendMessageRequest, c: ServerCallContext): Promise<Message | Task> {
    return this.call(() => this.inner.sendMessage(p, c));
  }
  sendMessageStream(
    p: SendMessageRequest,
    c: ServerCallContext,
  ): AsyncGenerator<StreamResponse, void, undefined> {
    return this.stream(() => this.inner.sendMessageStream(p, c));
  }
  resubscribe(
    p: SubscribeToTaskRequest,
    c: ServerCallContext,
  ): AsyncGenerator<StreamResponse, void, undefined> {
    return this.stream(() => this.inner.resubscribe(p, c));
  }
  getTask(p: GetTaskRequest, c: ServerCallContext): Promise<Task> {
    return this.call(() => this.inner.getTask(p, c));
  }
  cancelTask(p: CancelTaskRequest, c: ServerCallContext): Promise<Task> {
    return this.call(() => this.inner.cancelTask(p, c));
  }
  listTasks(p: ListTasksRequest, c: ServerCallContext): Promise<ListTasksResponse> {
    return this.call(() => this.inner.listTasks(p, c));
  }
  createTaskPushNotificationConfig(
    p: TaskPushNotificationConfig,
    c: ServerCallContext,
  ): Promise<TaskPushNotificationConfig> {
    return this.call(() => this.inner.createTaskPushNotificationConfig(p, c));
  }
  getTaskPushNotificationConfig(
    p: GetTaskPushNotificationConfigRequest,
    c: ServerCallContext,
  ): Promise<TaskPushNotificationConfig> {
    return this.call(() => this.inner.getTaskPushNotificationConfig(p, c));
  }
  listTaskPushNotificationConfigs(
    p: ListTaskPushNotificationConfigsRequest,
    c: ServerCallContext,
  ): Promise<ListTaskPushNotificationConfigsResponse> {
    return this.call(() => this.inner.listTaskPushNotificationConfigs(p, c));
  }
  deleteTaskPushNotificationConfig(
    p: DeleteTaskPushNotificationConfigRequest,
    c: ServerCallContext,
  ): Promise<void> {
    return this.call(() => this.inner.deleteTaskPushNotificationConfig(p, c));
  }
}
