import { randomUUID } from 'node:crypto';
import type {
  DeleteTaskPushNotificationConfigRequest,
  GetTaskPushNotificationConfigRequest,
  ListTaskPushNotificationConfigsRequest,
  ListTaskPushNotificationConfigsResponse,
  TaskPushNotificationConfig,
} from '@a2a-js/sdk';
import type { ServerCallContext } from '@a2a-js/sdk/server';
import {
  PushNotificationNotSupportedError,
  RequestMalformedError,
  TaskNotFoundError,
} from '@a2a-js/sdk/errors';
import type { Task as MeshTask } from '@orgmesh/contracts';
import type { Caller } from '../auth/caller.js';
import { callerOf, targetOf, type A2ATarget } from './a2a-context.js';
import type { PushConfigStore, StoredPushConfig } from './push.js';
import { CallbackRefused, checkCallbackUrl, type PushAllowList } from './push-url.js';

/** Push-notification configs as the handler is given them; undefined: not offered. */
export interface PushOptions {
  store: PushConfigStore;
  allow: PushAllowList;
  /** Pushes a task's current state to one config (the changes before a SendMessage's config was stored). */
  catchUp?: (stored: StoredPushConfig, task: MeshTask) => Promise<void>;
}

/** Reads a task the caller may see through this endpoint (TaskNotFound otherwise). */
export type TaskReader = (id: string | undefined, caller: Caller, target: A2ATarget) => Promise<MeshTask>;

/**
 * The push-notification config methods of the A2A handler: a caller creates configs for tasks it may
 * see (the mesh's GetTask decides) and reads, lists and deletes only its own.
 */
export class A2APushConfigs {
  constructor(
    private readonly push: PushOptions | undefined,
    private readonly read: TaskReader,
  ) {}

  async create(
    params: TaskPushNotificationConfig,
    context: ServerCallContext,
  ): Promise<TaskPushNotificationConfig> {
    const { push, caller, task } = await this.taskOf(params.taskId, context);
    await this.checkCallback(params.url, push.allow);
    return (await this.store(push.store, params, task.id, caller)).config;
  }

  async get(
    params: GetTaskPushNotificationConfigRequest,
    context: ServerCallContext,
  ): Promise<TaskPushNotificationConfig> {
    return (await this.own(params.taskId, params.id, context)).config;
  }

  async list(
    params: ListTaskPushNotificationConfigsRequest,
    context: ServerCallContext,
  ): Promise<ListTaskPushNotificationConfigsResponse> {
    const { push, caller, task } = await this.taskOf(params.taskId, context);
    const configs = (await push.store.list(task.id))
      .filter((c) => c.owner === caller.subject)
      .map((c) => c.config);
    return { configs, nextPageToken: '' };
  }

  async delete(params: DeleteTaskPushNotificationConfigRequest, context: ServerCallContext): Promise<void> {
    await this.own(params.taskId, params.id, context);
    await this.orRefuse().store.delete(params.taskId, params.id);
  }

  orRefuse(): PushOptions {
    if (!this.push) throw new PushNotificationNotSupportedError();
    return this.push;
  }

  async checkCallback(url: string, allow: PushAllowList): Promise<void> {
    try {
      await checkCallbackUrl(url, allow);
    } catch (error) {
      if (error instanceof CallbackRefused) throw new RequestMalformedError(error.message);
      throw error;
    }
  }

  async store(
    store: PushConfigStore,
    params: TaskPushNotificationConfig,
    taskId: string,
    caller: Caller,
  ): Promise<StoredPushConfig> {
    const config: TaskPushNotificationConfig = {
      tenant: '',
      id: params.id || randomUUID(),
      taskId,
      url: params.url,
      token: params.token,
      authentication: params.authentication,
    };
    const stored: StoredPushConfig = {
      config,
      owner: caller.subject,
      failing: null,
      createdAt: new Date().toISOString(),
    };
    await store.put(stored);
    return stored;
  }

  /** Push must be offered, and the task one the caller may see through this endpoint. */
  private async taskOf(
    taskId: string | undefined,
    context: ServerCallContext,
  ): Promise<{ push: PushOptions; caller: Caller; task: MeshTask }> {
    const push = this.orRefuse();
    const caller = callerOf(context);
    return { push, caller, task: await this.read(taskId, caller, targetOf(context)) };
  }

  /** A config of a task the caller may see, created by the caller (others' configs do not exist for it). */
  private async own(
    taskId: string | undefined,
    id: string | undefined,
    context: ServerCallContext,
  ): Promise<StoredPushConfig> {
    const { push, caller, task } = await this.taskOf(taskId, context);
    if (typeof id !== 'string' || !id)
      throw new RequestMalformedError('the push notification config id is required');
    const stored = await push.store.get(task.id, id);
    if (!stored || stored.owner !== caller.subject) {
      throw new TaskNotFoundError(
        `push notification config ${JSON.stringify(String(id ?? '').slice(0, 100))} of task ${task.id} not found`,
      );
    }
    return stored;
  }
}
