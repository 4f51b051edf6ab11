import { PrivacyRedacted, type PrivacyRedactedPayload } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';
import type { AuditSink } from './audit-sink.js';

/**
 * Publishes `privacy.v1.redacted` to JetStream (stream PRIVACY), off the request path: `emit`
 * queues and returns. Each event carries its own id as `Nats-Msg-Id`, so a retried publish is
 * stored once. The queue is bounded; while NATS is unreachable the oldest events are dropped with a
 * warning naming only counts — the proxy keeps serving model calls rather than failing them for
 * audit. The payload never holds values, only counts per entity type.
 */
export class NatsAuditSink implements AuditSink {
  private readonly queue: PrivacyRedactedPayload[] = [];
  private draining: Promise<void> | undefined;
  private dropped = 0;

  constructor(
    private readonly bus: MessageBus,
    private readonly logger: Logger,
    private readonly options: { maxQueue?: number; retryDelayMs?: number; maxAttempts?: number } = {},
  ) {}

  emit(event: PrivacyRedactedPayload): void {
    if (this.queue.length >= (this.options.maxQueue ?? 10_000)) {
      this.queue.shift();
      this.dropped++;
      if (this.dropped === 1 || this.dropped % 1000 === 0) this.logger.warn({ dropped: this.dropped }, 'privacy audit queue full, dropping oldest');
    }
    this.queue.push(event);
    this.startDraining();
  }

  private startDraining(): void {
    if (this.draining) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      // An event queued after the loop's last check but before this callback.
      if (this.queue.length) this.startDraining();
    });
  }

  /** Resolves when everything queued so far is published (or given up on). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    for (let event = this.queue.shift(); event; event = this.queue.shift()) {
      const attempts = this.options.maxAttempts ?? 5;
      for (let attempt = 1; ; attempt++) {
        try {
          await this.bus.publish(PrivacyRedacted, event, { eventId: event.eventId });
          break;
        } catch (error) {
          if (attempt >= attempts) {
            this.logger.warn(
              { eventId: event.eventId, role: event.role, counts: event.counts, err: { code: (error as { code?: string }).code } },
              'privacy audit event not published',
            );
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, (this.options.retryDelayMs ?? 200) * attempt));
        }
      }
    }
  }
}
