import type { Subscription } from '@nats-io/nats-core';
import { TaskCreated, TaskUpdated } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';
import type { TaskRepository } from './task.repository.js';

/**
 * Keeps the row caches of several router replicas in step. An update is decided on the cached
 * row and written guarded by its version; with more than one replica, the agent's next update
 * often lands on a replica that has not seen the previous change, which then pays a guard miss
 * and a read (measured: two replicas made half the lifecycles per second of one). Every replica
 * therefore listens to the task events on plain NATS subscriptions (JetStream-published events
 * reach core subscribers too) and remembers the row each one describes.
 *
 * The router's bus connects with `noEcho`, so a replica never receives its own events: a single
 * replica pays nothing for this. The events are trusted as the sessions service already trusts
 * them (NATS permissions must keep mesh.v1.> publishable by the router alone); a row learned from
 * them is still only a hint, since every write is guarded by the version it was decided on.
 */
export class ReplicaCacheSync {
  private readonly subscriptions: Subscription[] = [];
  /**
   * Rows learned from other replicas' events (metrics, tests). A repeat of a version already held
   * is not counted: the outbox relay may publish an event again when the eager publish was slow.
   */
  learned = 0;

  constructor(
    private readonly bus: MessageBus,
    private readonly repository: TaskRepository,
    private readonly logger: Logger,
  ) {}

  /** Whether it is listening (start, or `setLearning(true)`). */
  get listening(): boolean {
    return this.subscriptions.length > 0;
  }

  /**
   * Listens while `on`, stops listening otherwise: a standby replica that takes almost no requests
   * (RpcPacking) does not pay for parsing every event of the replica that takes them. Rows it
   * holds may then go stale; an update decided on a stale row misses its version guard and is
   * decided again on the stored row.
   */
  setLearning(on: boolean): void {
    if (on) this.start();
    else this.stop();
  }

  start(): void {
    if (this.listening) return;
    for (const event of [TaskCreated, TaskUpdated]) {
      this.subscriptions.push(
        this.bus.nc.subscribe(this.bus.subject(event.subject), {
          callback: (error, msg) => {
            if (error) return;
            try {
              const parsed = event.schema.safeParse(msg.json());
              if (!parsed.success) return;
              if (this.repository.learn(parsed.data.task)) this.learned++;
            } catch {
              // A malformed event only means a cache miss later. Not logged with its error: a JSON
              // parse error quotes the payload, which may hold personal data.
              this.logger.debug({ subject: event.subject }, 'task event not learned');
            }
          },
        }),
      );
    }
  }

  stop(): void {
    for (const sub of this.subscriptions.splice(0)) sub.unsubscribe();
  }
}
