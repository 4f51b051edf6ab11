import type { Subscription } from '@nats-io/nats-core';
import { TaskChange, agentUpdatesSubject } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';
import type { TaskUpdateListener } from './task-context.js';

/**
 * The agent's own updates subject, where the mesh router repeats the changes of the tasks it
 * sent: its credential may not subscribe to `mesh.v1.task-updated`, every task change of the org
 * (ADR 0011). A change wakes whoever waits for that task (`waitForTask`) and, for a task this agent
 * sent, the `onTaskUpdate` listeners. An id that cannot be a subject token has no such subject:
 * waitForTask then only polls.
 */
export class TaskUpdates {
  private readonly listeners = new Set<TaskUpdateListener>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private subscription: Subscription | undefined;

  constructor(
    private readonly bus: MessageBus,
    private readonly agentId: string,
    private readonly logger: Logger,
  ) {}

  /** Adds a listener of the changes of tasks this agent sent; returns its removal. */
  listen(listener: TaskUpdateListener): () => void {
    this.listeners.add(listener);
    this.subscribe();
    return () => this.listeners.delete(listener);
  }

  /** Subscribes once (core NATS: no change is replayed from before). */
  subscribe(): void {
    const subject = agentUpdatesSubject(this.agentId);
    if (this.subscription || !subject || this.bus.nc.isClosed()) return;
    this.subscription = this.bus.nc.subscribe(this.bus.subject(subject), {
      callback: (error, msg) => {
        if (error) return;
        let change: TaskChange;
        try {
          change = TaskChange.parse(JSON.parse(new TextDecoder().decode(msg.data)));
        } catch {
          return;
        }
        for (const wake of this.waiters.get(change.task.id) ?? []) wake();
        if (change.task.from.agentId === this.agentId) this.tell(change);
      },
    });
  }

  /** Resolves at the next change of task `id`; `cancel` when no longer waiting. */
  waitForChange(id: string): { promise: Promise<void>; cancel: () => void } {
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

  stop(): void {
    this.subscription?.unsubscribe();
  }

  private tell(change: TaskChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        this.logger.error({ err, taskId: change.task.id }, 'task update listener failed');
      }
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts; never keeps the process alive. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref?.();
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
