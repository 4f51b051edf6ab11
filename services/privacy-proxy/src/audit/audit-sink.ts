import type { PrivacyRedactedPayload } from '@orgmesh/contracts';
import type { Logger } from '@orgmesh/telemetry';

/**
 * Receives `privacy.v1.redacted` payloads (counts, never values). `emit` must not throw or block the
 * request; a NATS-publishing sink buffers and publishes on its own.
 */
export interface AuditSink {
  emit(event: PrivacyRedactedPayload): void;
}

/** Keeps events in memory, for tests. */
export class RecordingAuditSink implements AuditSink {
  readonly events: PrivacyRedactedPayload[] = [];

  emit(event: PrivacyRedactedPayload): void {
    this.events.push(event);
  }
}

/** Writes the counts to the service log until the NATS sink is wired in. */
export class LogAuditSink implements AuditSink {
  constructor(private readonly logger: Logger) {}

  emit(event: PrivacyRedactedPayload): void {
    this.logger.info(
      {
        eventId: event.eventId,
        role: event.role,
        agentId: event.agentId,
        sessionId: event.sessionId,
        mode: event.mode,
        outcome: event.outcome,
        counts: event.counts,
        endpoint: event.endpoint,
      },
      'privacy redacted',
    );
  }
}
