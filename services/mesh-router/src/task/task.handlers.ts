import type { Type } from '@nestjs/common';
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
} from '@orgmesh/contracts';
import { countOutcome, rpcController, rpcRoute, type MessageContext } from '@orgmesh/messaging';
import type { CallerIdentity } from '../identity/caller-identity.js';
import type { TaskService, CreateCommand } from './task.service.js';
import type { TaskMetrics } from './task.metrics.js';
import { addTaskInput } from './task.input.js';
import type { Caller } from './task.access.js';

/** NATS RPC endpoints: verify the caller → service → reply. The transport has validated the payload. */
export function taskHandlers(
  tasks: TaskService,
  identity: CallerIdentity,
  metrics: TaskMetrics,
): Type<unknown> {
  /**
   * Verifies the caller (a refusal is counted as its error code, like any failure of `work`), runs
   * `work` for it and counts the outcome: ok, repeat (a replayed idempotency key) or the error code.
   */
  const measure = async <T>(
    operation: string,
    ctx: MessageContext,
    work: (caller: Caller) => Promise<{ value: T; repeat?: boolean }>,
  ): Promise<T> => {
    const { value } = await countOutcome(
      (result) => metrics.requests.inc({ operation, result }),
      async () => work(await identity.of(ctx)),
      ({ repeat }) => (repeat ? 'repeat' : 'ok'),
    );
    return value;
  };

  /** An RPC that answers what `work` returns for the verified caller, counted by operation and outcome. */
  const answer = <T>(
    operation: string,
    ctx: MessageContext,
    work: (caller: Caller) => Promise<T>,
  ): Promise<T> => measure(operation, ctx, async (caller) => ({ value: await work(caller) }));

  /** Send, request-approval and notify: one create path, counted per operation (a replayed key is a repeat). */
  const create = (operation: string, command: CreateCommand, ctx: MessageContext): Promise<Task> =>
    measure(operation, ctx, async (caller) => {
      const { task, created } = await tasks.create(caller, command, ctx.idempotencyKey);
      return { value: task, repeat: !created };
    });

  return rpcController('TaskHandlers', [
    rpcRoute(SendTask, (request, ctx) => create('send-task', { kind: 'task', ...request }, ctx)),
    rpcRoute(RequestApproval, (request, ctx) =>
      create('request-approval', { kind: 'approval', ...request }, ctx),
    ),
    rpcRoute(Notify, (request, ctx) => create('notify', { kind: 'notification', ...request }, ctx)),
    rpcRoute(GetTask, (request, ctx) =>
      answer('get-task', ctx, (caller) => tasks.get(caller, request.id, request.includeHistory)),
    ),
    rpcRoute(ListTasks, (request, ctx) => answer('list-tasks', ctx, (caller) => tasks.list(caller, request))),
    rpcRoute(UpdateTask, (request, ctx) =>
      answer('update-task', ctx, (caller) => tasks.update(caller, request, ctx.idempotencyKey)),
    ),
    rpcRoute(Decide, (request, ctx) =>
      answer('decide', ctx, (caller) => tasks.decide(caller, request, ctx.idempotencyKey)),
    ),
    rpcRoute(AddTaskInput, (request, ctx) =>
      answer('add-task-input', ctx, (caller) => addTaskInput(tasks, caller, request)),
    ),
    rpcRoute(CancelTask, (request, ctx) =>
      answer('cancel', ctx, (caller) => tasks.cancel(caller, request, ctx.idempotencyKey)),
    ),
  ]);
}
