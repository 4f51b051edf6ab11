import { AppError, canonicalJson, type Task } from '@orgmesh/contracts';
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

/** A delivery being handled: its context, its turn, and when it is done (a next turn waits for it). */
interface InFlight {
  ctx: TaskContextImpl;
  turn: string;
  done: Promise<void>;
}

/**
 * The turn a delivery carries. A task is delivered again when its sender adds input (AddTaskInput,
 * ADR 0018): each delivery carries the task at the version of the change that delivered it, so the
 * task's id and that version name one turn — a redelivery of the same message (at least once) carries
 * the same version, a continuation a higher one. Approvals and notifications have one turn each (an
 * escalation's copy is the same request).
 */
export function turnOf(task: Pick<Task, 'id' | 'kind' | 'version'>): string {
  return task.kind === 'task' ? `${task.id}@${task.version}` : task.id;
}

/**
 * What the agent does with each inbox delivery: hands each turn of a task to its handler once per
 * process (redeliveries of a handled turn or of an ended task are dropped; a task its sender gave
 * more input is a new turn, handled after the one in flight; a redelivery of a task that moved on is
 * handled as it is now), reports the handler's result or failure, and tells the consumer whether
 * the delivery is to come again (a passing failure, or the agent stopping).
 */
export class InboxDeliveries {
  readonly handlers: InboxHandlers = {};
  private readonly inFlight = new Map<string, InFlight>();
  /** Turns handled, and the ids of tasks that ended (no turn of theirs is handled any more). */
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
    const running = this.inFlight.get(id);
    if (running) running.ctx.ended = true;
  }

  /** A task as an update of this agent's answered it: the handler's context follows it (input-required, ended). */
  observe(task: Task): void {
    this.inFlight.get(task.id)?.ctx.observe(task);
  }

  async onDelivery(task: Task, delivery: EventContext): Promise<void> {
    // Stopping: back to the inbox for another instance (or this one after its restart).
    if (this.stopping()) throw new AppError('unavailable', 'agent is stopping');
    const id = task.id;
    const turn = turnOf(task);
    // A next turn of a task in flight waits for it (its input may answer what that turn asks).
    for (let running = this.inFlight.get(id); running; running = this.inFlight.get(id)) {
      if (running.turn === turn) return this.dropped(task, delivery, 'duplicate delivery dropped');
      await running.done;
      if (this.stopping()) throw new AppError('unavailable', 'agent is stopping');
    }
    if (this.handled.has(id) || this.handled.has(turn))
      return this.dropped(task, delivery, 'duplicate delivery dropped');
    const ctx = new TaskContextImpl(this.agent, task, delivery, this.signal);
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    // Claimed before the first await, so a concurrent duplicate sees it.
    this.inFlight.set(id, { ctx, turn, done });
    try {
      if (await this.stale(ctx, delivery)) return;
      await this.dispatch(ctx, delivery);
      this.remember(ctx, turn);
    } catch (error) {
      const retry = error instanceof AppError && error.retryable && !ctx.ended;
      if (!retry) this.remember(ctx, turn);
      throw error;
    } finally {
      this.inFlight.delete(id);
      finish();
    }
  }

  private remember(ctx: TaskContextImpl, turn: string): void {
    this.handled.add(turn);
    if (ctx.ended) this.handled.add(ctx.task.id);
  }

  private dropped(task: Task, delivery: EventContext, message: string): void {
    this.agent.logger.debug({ taskId: task.id, deliveryCount: delivery.deliveryCount }, message);
  }

  /**
   * A redelivery, a copy delivered later (an escalation) or a next turn may describe a task that
   * moved on: read it as it is now, and say whether the delivery is to be dropped — the task ended,
   * another agent took it, it waits for input (this turn already asked: the answer comes as a new
   * turn), or its input changed since (an older turn: the newer one has its own delivery).
   */
  private async stale(ctx: TaskContextImpl, delivery: EventContext): Promise<boolean> {
    const task = ctx.task;
    if (delivery.deliveryCount <= 1 && task.state === 'submitted') return false;
    const current = await this.agent.fetchStatus(task.id, { includeHistory: false }, ctx.headers());
    const takenElsewhere =
      current.assignee && current.assignee.agentId !== this.agent.agentId && current.escalatedTo === null;
    const turnOver =
      task.kind === 'task' &&
      (current.state === 'input-required' || canonicalJson(current.input) !== canonicalJson(task.input));
    if (isTerminal(current.state) || takenElsewhere || turnOver) {
      this.agent.logger.debug(
        { taskId: task.id, state: current.state },
        'delivery of a task that ended, was taken elsewhere or moved to another turn dropped',
      );
      this.handled.add(turnOf(task));
      if (isTerminal(current.state) || takenElsewhere) this.handled.add(task.id);
      return true;
    }
    ctx.task = current;
    return false;
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
        // A task that asked its sender for input waits for it: the answer comes as its next turn.
        if (task.kind === 'task' && ctx.awaitingInput)
          this.agent.logger.info(log, 'task waits for input from its sender');
        else if (task.kind === 'task') await ctx.complete(result ?? null);
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
