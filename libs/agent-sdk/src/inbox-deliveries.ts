import { AppError, type Task } from '@orgmesh/contracts';
import type { EventContext } from '@orgmesh/messaging';
import type { MeshAgentOptions } from './agent-options.js';
import type { MeshAgent } from './mesh-agent.js';
import { RecentIds } from './recent-ids.js';
import {
  isDecisionResult,
  isTerminal,
  TaskContextImpl,
  type NotificationHandler,
  type TaskHandler,
} from './task-context.js';

/** The handlers an agent registered (onTask, onApproval, onNotification). */
export interface InboxHandlers {
  task?: TaskHandler;
  approval?: TaskHandler;
  notification?: NotificationHandler;
}

/**
 * What the agent does with each inbox delivery: hands a task to its handler once per process
 * (redeliveries of handled or ended tasks are dropped, a redelivery of a task that moved on is
 * handled as it is now), reports the handler's result or failure, and tells the consumer whether
 * the delivery is to come again (a passing failure, or the agent stopping).
 */
export class InboxDeliveries {
  readonly handlers: InboxHandlers = {};
  private readonly inFlight = new Map<string, TaskContextImpl>();
  private readonly handled = new RecentIds();

  constructor(
    private readonly agent: MeshAgent,
    private readonly options: Pick<MeshAgentOptions, 'autoStart' | 'maxDeliver'>,
    /** Aborted when the agent stops and the grace period is over. */
    private readonly signal: AbortSignal,
    private readonly stopping: () => boolean,
  ) {}

  /** Deliveries being handled now. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** The task ended through this agent: its handler's context says so. */
  markEnded(id: string): void {
    const ctx = this.inFlight.get(id);
    if (ctx) ctx.ended = true;
  }

  async onDelivery(task: Task, delivery: EventContext): Promise<void> {
    // Stopping: back to the inbox for another instance (or this one after its restart).
    if (this.stopping()) throw new AppError('unavailable', 'agent is stopping');
    const id = task.id;
    if (this.inFlight.has(id) || this.handled.has(id)) {
      this.agent.logger.debug(
        { taskId: id, deliveryCount: delivery.deliveryCount },
        'duplicate delivery dropped',
      );
      return;
    }
    const ctx = new TaskContextImpl(this.agent, task, delivery, this.signal);
    // Claimed before the first await, so a concurrent duplicate sees it.
    this.inFlight.set(id, ctx);
    try {
      // A redelivery, or a copy delivered later (an escalation), may describe a task that moved on.
      if (delivery.deliveryCount > 1 || task.state !== 'submitted') {
        const current = await this.agent.fetchStatus(id, { includeHistory: false }, ctx.headers());
        if (
          isTerminal(current.state) ||
          (current.assignee &&
            current.assignee.agentId !== this.agent.agentId &&
            current.escalatedTo === null)
        ) {
          this.agent.logger.debug(
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
      if (this.handlers.notification) {
        await this.handlers
          .notification(task, ctx)
          .catch((error: unknown) =>
            this.agent.logger.error({ ...log, err: error }, 'notification handler failed'),
          );
      }
      this.agent.logger.info(log, 'notification received');
      return;
    }
    const handler = task.kind === 'approval' ? this.handlers.approval : this.handlers.task;
    if (!handler) {
      await ctx.reject(
        `agent ${this.agent.agentId} takes no ${task.kind === 'approval' ? 'approval requests' : 'tasks'}`,
      );
      this.agent.logger.warn(log, 'task rejected: no handler for its kind');
      return;
    }
    this.agent.logger.info(log, 'task received');
    try {
      if ((this.options.autoStart ?? true) && task.state === 'submitted') await ctx.progress('working');
      const result = await handler(task, ctx);
      if (!ctx.ended) {
        if (task.kind === 'task') await ctx.complete(result ?? null);
        else if (isDecisionResult(result)) await ctx.decide(result.decision, result.comment);
        else
          this.agent.logger.warn(log, 'approval handler ended without a decision; the approval stays open');
      }
      this.agent.logger.info({ ...log, ended: ctx.ended }, 'task handled');
    } catch (error) {
      const app = error instanceof AppError ? error : undefined;
      // Stopping, or a passing failure (model or mesh unavailable) on a delivery that will come again: retry later.
      const lastDelivery = delivery.deliveryCount >= (this.options.maxDeliver ?? 10);
      if (!ctx.ended && (this.stopping() || (app?.retryable && !lastDelivery))) {
        this.agent.logger.warn(
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
            this.agent.logger.error({ ...log, err: failError }, 'could not report the failure'),
          );
      }
      this.agent.logger.error(
        { ...log, code: app?.code ?? 'internal', err: app ? undefined : error },
        'task failed',
      );
    }
  }
}
