import { context } from '@opentelemetry/api';
import { extractTraceContext, type MessageBus } from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';
import type { PublishedMarks } from '../task/published-marks.js';

/** An outbox row just committed: what the relay would publish. */
export interface CommittedEvent {
  eventId: string;
  subject: string;
  payload: string;
  headers: string;
}

/**
 * The outbox's fast path. The relay (libs/messaging) wakes on NOTIFY and publishes committed rows
 * in a second transaction: correct, but one extra commit and a poll cycle on the path of every
 * delivery. Here, right after a write commits, its rows are published at once with the outbox
 * event id as `Nats-Msg-Id`, and marked published once acknowledged, mostly by the next task
 * statement (PublishedMarks). The outbox stays the guarantee: a row whose publish fails (or whose
 * process dies first) is still unpublished, and the relay's poll publishes it; a row published
 * twice is dropped by the stream's duplicate window. Rows are written without NOTIFY in this mode,
 * and the relay's polls leave rows younger than their grace alone, so the relay does not race the
 * fast path for them.
 */
export class EagerPublisher {
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly bus: MessageBus,
    private readonly marks: PublishedMarks,
    private readonly wakeRelay: () => Promise<void>,
    private readonly logger: Logger,
    /**
     * Called with each event right after it is sent, not after its ack (SenderUpdates): the write
     * is committed already, and waiting for the ack put a JetStream round trip on the path of every
     * change a sender waits for. Must not throw.
     */
    private readonly onSent?: (subject: string, payload: string) => void,
  ) {}

  /** Publishes committed rows in order, without making the caller wait for the acks. */
  publish(events: CommittedEvent[]): void {
    if (this.stopped) {
      void this.wakeRelay().catch(() => undefined);
      return;
    }
    // js.publish writes the message at call time, so rows of one write (and of successive writes) keep their order.
    for (const event of events) {
      const headers = JSON.parse(event.headers) as Record<string, string>;
      const sent: Promise<void> = context
        .with(extractTraceContext(headers), () =>
          this.bus.publishRaw(event.subject, new TextEncoder().encode(event.payload), {
            eventId: event.eventId,
            headers,
          }),
        )
        .then(
          () => this.marks.add(event.eventId),
          (error: unknown) => {
            this.logger.warn(
              { err: error, subject: event.subject },
              'eager publish failed, the outbox relay will publish',
            );
            void this.wakeRelay().catch(() => undefined);
          },
        )
        .finally(() => this.inFlight.delete(sent));
      this.inFlight.add(sent);
      this.onSent?.(event.subject, event.payload);
    }
  }

  /** Stops publishing (the relay takes what is committed later) and marks what was published. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.inFlight]);
    await this.marks.flush();
  }
}
