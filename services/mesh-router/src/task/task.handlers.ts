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
import type { Caller } from './task.access.js';

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
    return this.answer('get-task', ctx, (caller) =>
      this.tasks.get(caller, request.id, request.includeHistory),
    );
  }

  @RpcHandler(ListTasks)
  listTasks(
    @Payload() request: RpcRequest<typeof ListTasks>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof ListTasks>> {
    return this.answer('list-tasks', ctx, (caller) => this.tasks.list(caller, request));
  }

  @RpcHandler(UpdateTask)
  updateTask(
    @Payload() request: RpcRequest<typeof UpdateTask>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof UpdateTask>> {
    return this.answer('update-task', ctx, (caller) =>
      this.tasks.update(caller, request, ctx.idempotencyKey),
    );
  }

  @RpcHandler(Decide)
  decide(
    @Payload() request: RpcRequest<typeof Decide>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof Decide>> {
    return this.answer('decide', ctx, (caller) => this.tasks.decide(caller, request, ctx.idempotencyKey));
  }

  @RpcHandler(AddTaskInput)
  addTaskInput(
    @Payload() request: RpcRequest<typeof AddTaskInput>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof AddTaskInput>> {
    return this.answer('add-task-input', ctx, (caller) => addTaskInput(this.tasks, caller, request));
  }

  @RpcHandler(CancelTask)
  cancel(
    @Payload() request: RpcRequest<typeof CancelTask>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof CancelTask>> {
    return this.answer('cancel', ctx, (caller) => this.tasks.cancel(caller, request, ctx.idempotencyKey));
  }

  /** Send, request-approval and notify: one create path, counted per operation (a replayed key is a repeat). */
  private create(operation: string, command: CreateCommand, ctx: MessageContext): Promise<Task> {
    return this.measure(operation, ctx, async (caller) => {
      const { task, created } = await this.tasks.create(caller, command, ctx.idempotencyKey);
      return { value: task, repeat: !created };
    });
  }

  /** An RPC that answers what `work` returns for the verified caller, counted by operation and outcome. */
  private answer<T>(
    operation: string,
    ctx: MessageContext,
    work: (caller: Caller) => Promise<T>,
  ): Promise<T> {
    return this.measure(operation, ctx, async (caller) => ({ value: await work(caller) }));
  }

  /**
   * Verifies the caller (a refusal is counted as its error code, like any failure of `work`), runs
   * `work` for it and counts the outcome: ok, repeat (a replayed idempotency key) or the error code.
   */
  private async measure<T>(
    operation: string,
    ctx: MessageContext,
    work: (caller: Caller) => Promise<{ value: T; repeat?: boolean }>,
  ): Promise<T> {
    const { value } = await countOutcome(
      (result) => this.metrics.requests.inc({ operation, result }),
      async () => work(await this.identity.of(ctx)),
      ({ repeat }) => (repeat ? 'repeat' : 'ok'),
    );
    return value;
  }
}
