import { PrivacyRedacted, type PrivacyRedactedPayload } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { seriesOn, type Logger } from '@orgmesh/telemetry';
import type { Counter, Registry } from 'prom-client';
import type { AuditSink } from './audit-sink.js';
import type { AuditSpool, SpoolBatch } from './audit-spool.js';

export interface NatsAuditSinkOptions {
  /** First retry delay after a failed publish; doubles up to `maxRetryDelayMs`. Default 200 ms. */
  readonly retryDelayMs?: number;
  /** Default 5 s: NATS coming back is noticed within this. */
  readonly maxRetryDelayMs?: number;
  /** Where the spool's gauges and the dropped counter are registered. */
  readonly registry?: Registry;
}

/**
 * Publishes `privacy.v1.redacted` to JetStream (stream PRIVACY) from the local spool (ADR 0013):
 * `emit` appends the event to the spool and returns; a single loop reads the spool, publishes each
 * event with its id as `Nats-Msg-Id` and commits what JetStream acknowledged. While NATS is down
 * events wait in the spool, across restarts and kill -9, and are retried forever; the stream's
 * duplicate window and the consumers' dedupe on the event id absorb a replay. Only a full spool
 * drops an event, counted in `orgmesh_privacy_audit_dropped_total`. The payload never holds values,
 * only counts per entity type.
 */
export class NatsAuditSink implements AuditSink {
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly dropped: Counter | undefined;

  constructor(
    private readonly bus: MessageBus,
    private readonly spool: AuditSpool,
    private readonly logger: Logger,
    private readonly options: NatsAuditSinkOptions = {},
  ) {
    if (options.registry) {
      const series = seriesOn(options.registry);
      this.dropped = series.counter(
        'orgmesh_privacy_audit_dropped_total',
        'Privacy audit events dropped because the local spool was full',
      );
      series.gauge(
        'orgmesh_privacy_audit_spool_bytes',
        'Bytes of privacy audit events in the local spool not yet acknowledged by JetStream',
        { read: () => spool.pendingBytes },
      );
    }
  }

  /** Starts publishing, beginning with what an earlier process left in the spool. */
  start(): void {
    this.loop ??= this.run();
  }

  emit(event: PrivacyRedactedPayload): void {
    let spooled: boolean;
    let code: string | undefined;
    try {
      spooled = this.spool.append(JSON.stringify(event));
    } catch (error) {
      // A disk that refuses the write (ENOSPC, EIO): the model call goes on; the loss is counted.
      spooled = false;
      code = (error as NodeJS.ErrnoException).code ?? 'unknown';
    }
    if (!spooled) {
      this.dropped?.inc();
      this.logger.error(
        { eventId: event.eventId, role: event.role, ...(code ? { code } : { reason: 'spool_full' }) },
        'privacy audit event not spooled, dropped',
      );
      return;
    }
    this.wake?.();
  }

  /** Resolves when everything spooled so far is published (never, while NATS stays down). */
  flush(): Promise<void> {
    if (this.spool.pendingBytes === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops publishing after the batch in flight; what is unpublished stays spooled for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await this.spool.close();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!(await this.step())) return;
      } catch (error) {
        // The spool could not be read (a file error): keep the events, try again shortly.
        this.logger.error(
          { code: (error as NodeJS.ErrnoException).code ?? 'unknown' },
          'privacy audit spool unreadable, retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  /** Publishes one batch from the spool, or waits for one; false once stopped mid-publish. */
  private async step(): Promise<boolean> {
    const batch = await this.spool.read();
    if (batch.lines.length === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        // A timer as well: an append racing the read above finds no waiter to wake.
        setTimeout(resolve, 1_000).unref();
      });
      this.wake = undefined;
      return true;
    }
    if (!(await this.publish(batch))) return false;
    await this.spool.commit(batch);
    return true;
  }

  /** Publishes every event of the batch, retrying failures until they succeed; false when stopped. */
  private async publish(batch: SpoolBatch): Promise<boolean> {
    let waiting = batch.lines.flatMap((line) => {
      const event = parseEvent(line);
      if (!event) this.logger.warn({ bytes: line.length }, 'unreadable privacy audit spool line skipped');
      return event ? [event] : [];
    });
    for (let attempt = 1; waiting.length > 0; attempt++) {
      const results = await Promise.allSettled(
        waiting.map((event) => this.bus.publish(PrivacyRedacted, event, { eventId: event.eventId })),
      );
      const failed = waiting.filter((_, i) => results[i]?.status === 'rejected');
      if (failed.length === 0) return true;
      const reason = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      if (attempt === 1 || attempt % 20 === 0)
        this.logger.warn(
          { waiting: failed.length, attempt, err: { code: (reason.reason as { code?: string }).code } },
          'privacy audit events not published yet, kept in the spool',
        );
      waiting = failed;
      const delay = Math.min(
        (this.options.retryDelayMs ?? 200) * 2 ** Math.min(attempt - 1, 10),
        this.options.maxRetryDelayMs ?? 5_000,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.stopped) return false;
    }
    return true;
  }
}

/** A spooled line as the event it was; undefined for a line torn by a crash or not an event. */
function parseEvent(line: string): PrivacyRedactedPayload | undefined {
  try {
    const parsed = PrivacyRedacted.schema.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
