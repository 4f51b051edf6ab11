import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  AddTaskInput,
  CancelTask,
  Decide,
  GetTask,
  ListTasks,
  Notify,
  RequestApproval,
  SendTask,
  type Task,
  UpdateTask,
  type RpcRequest,
  type RpcResponse,
} from '@orgmesh/contracts';
import { countOutcome, RpcHandler, type MessageContext } from '@orgmesh/messaging';
import { CallerIdentity } from '../identity/caller-identity.js';
import { TaskService, type CreateCommand } from './task.service.js';
import { TaskMetrics } from './task.metrics.js';
import { addTaskInput } from './task.input.js';

/** NATS RPC endpoints: verify the caller → service → reply. The transport has validated the payload. */
@Controller()
export class TaskHandlers {
  constructor(
    @Inject(TaskService) private readonly tasks: TaskService,
    @Inject(CallerIdentity) private readonly identity: CallerIdentity,
    @Inject(TaskMetrics) private readonly metrics: TaskMetrics,
  ) {}

  @RpcHandler(SendTask)
  sendTask(
    @Payload() request: RpcRequest<typeof SendTask>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof SendTask>> {
    return this.create('send-task', { kind: 'task', ...request }, ctx);
  }

  @RpcHandler(RequestApproval)
  requestApproval(
    @Payload() request: RpcRequest<typeof RequestApproval>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof RequestApproval>> {
    return this.create('request-approval', { kind: 'approval', ...request }, ctx);
  }

  @RpcHandler(Notify)
  notify(
    @Payload() request: RpcRequest<typeof Notify>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof Notify>> {
    return this.create('notify', { kind: 'notification', ...request }, ctx);
  }

  @RpcHandler(GetTask)
  getTask(
    @Payload() request: RpcRequest<typeof GetTask>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof GetTask>> {
    return this.measure('get-task', async () => ({
      value: await this.tasks.get(await this.identity.of(ctx), request.id, request.includeHistory),
    }));
  }

  @RpcHandler(ListTasks)
  listTasks(
    @Payload() request: RpcRequest<typeof ListTasks>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof ListTasks>> {
    return this.measure('list-tasks', async () => ({
      value: await this.tasks.list(await this.identity.of(ctx), request),
    }));
  }

  @RpcHandler(UpdateTask)
  updateTask(
    @Payload() request: RpcRequest<typeof UpdateTask>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof UpdateTask>> {
    return this.measure('update-task', async () => ({
      value: await this.tasks.update(await this.identity.of(ctx), request, ctx.idempotencyKey),
    }));
  }

  @RpcHandler(Decide)
  decide(
    @Payload() request: RpcRequest<typeof Decide>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof Decide>> {
    return this.measure('decide', async () => ({
      value: await this.tasks.decide(await this.identity.of(ctx), request, ctx.idempotencyKey),
    }));
  }

  @RpcHandler(AddTaskInput)
  addTaskInput(
    @Payload() request: RpcRequest<typeof AddTaskInput>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof AddTaskInput>> {
    return this.measure('add-task-input', async () => ({
      value: await addTaskInput(this.tasks, await this.identity.of(ctx), request),
    }));
  }

  @RpcHandler(CancelTask)
  cancel(
    @Payload() request: RpcRequest<typeof CancelTask>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof CancelTask>> {
    return this.measure('cancel', async () => ({
      value: await this.tasks.cancel(await this.identity.of(ctx), request, ctx.idempotencyKey),
    }));
  }

  /** Send, request-approval and notify: one create path, counted per operation (a replayed key is a repeat). */
  private create(operation: string, command: CreateCommand, ctx: MessageContext): Promise<Task> {
    return this.measure(operation, async () => {
      const { task, created } = await this.tasks.create(
        await this.identity.of(ctx),
        command,
        ctx.idempotencyKey,
      );
      return { value: task, repeat: !created };
    });
  }

  private async measure<T>(
    operation: string,
    work: () => Promise<{ value: T; repeat?: boolean }>,
  ): Promise<T> {
    const { value } = await countOutcome(
      (result) => this.metrics.requests.inc({ operation, result }),
      work,
      ({ repeat }) => (repeat ? 'repeat' : 'ok'),
    );
    return value;
  }
}
