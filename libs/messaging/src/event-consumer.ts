import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import {
  AppError,
  HEADERS,
  validationError,
  type EventDefinition,
  type EventPayload,
} from '@orgmesh/contracts';
import { unexpectedErrorFields, type Logger } from '@orgmesh/telemetry';
import { nakDelayMs, retryDelayMs, DEFAULT_BACKOFF_MS } from './backoff.js';
import { decodeJson, headerIdProblem, MAX_BODY_DEPTH, nestsDeeperThan } from './codec.js';
import {
  DLQ_HEADERS,
  headersToRecord,
  recordToHeaders,
  sanitizeHeaderValue,
  type DeadLetterReason,
} from './headers.js';
import type { MessagingMetrics } from './metrics.js';
import { deadLetterSubject, unprefixSubject, type Namespace } from './names.js';
import { withMessagingSpan } from './tracing.js';
import { traceIdOf } from './unexpected.js';
import type { ConsumeOptions, ConsumerHandle, EventContext } from './types.js';

export const DEFAULT_MAX_DELIVER = 10;
export const DEFAULT_ACK_WAIT_MS = 30_000;

export interface EventConsumerDeps {
  js: JetStreamClient;
  ns: Namespace;
  logger: Logger;
  ensureDeadLetterStream(): Promise<void>;
  metrics?: MessagingMetrics;
}

// Headers never copied into a dead letter: JetStream's own, and credentials.
const DROPPED_ON_DEAD_LETTER = new Set([
  'nats-msg-id',
  'nats-expected-stream',
  'nats-expected-last-msg-id',
  'authorization',
]);

/**
 * One durable pull consumer bound to an event contract: validate → handler → ack; nak with
 * backoff on retryable failures; term + dead letter on invalid messages, non-retryable errors
 * and exhausted deliveries.
 */
export class EventConsumer<E extends EventDefinition> implements ConsumerHandle {
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  private readonly maxDeliver: number;
  private readonly backoffMs: readonly number[];
  private readonly ackWaitMs: number;
  private readonly concurrency: number;

  constructor(
    private readonly deps: EventConsumerDeps,
    private readonly event: E,
    readonly stream: string,
    readonly durable: string,
    private readonly handler: (payload: EventPayload<E>, ctx: EventContext) => Promise<void>,
    options: ConsumeOptions,
  ) {
    this.maxDeliver = options.maxDeliver ?? DEFAULT_MAX_DELIVER;
    this.backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
    this.ackWaitMs = options.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
    this.concurrency = Math.max(1, options.concurrency ?? 1);
  }

  async start(): Promise<void> {
    const consumer = await this.deps.js.consumers.get(this.stream, this.durable);
    // A small client buffer: buffered messages' ack timers already run. Pulls expire after 10 s
    // (not 30): a pull still open on the server after stop() can take a message, which then waits
    // for ack_wait before redelivery; a short expiry narrows that window.
    this.messages = await consumer.consume({
      max_messages: Math.max(4, this.concurrency * 2),
      expires: 10_000,
    });
    const messages = this.messages;
    void (async () => {
      for await (const status of messages.status()) {
        if (
          status.type === 'heartbeats_missed' ||
          status.type === 'consumer_not_found' ||
          status.type === 'stream_not_found'
        ) {
          this.deps.logger.warn(
            { consumer: this.durable, stream: this.stream, status: status.type },
            'consumer status',
          );
        }
      }
    })().catch(() => undefined);
    this.loop = this.run(messages);
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const msg of messages) {
        const task: Promise<void> = this.process(msg)
          .catch((error: unknown) => {
            // Neither acked nor nak'd: redelivered after ack_wait, dead-lettered past maxDeliver.
            this.countUnexpected(
              msg.subject,
              { consumer: this.durable },
              error,
              'consumer processing crashed',
            );
          })
          .finally(() => this.inFlight.delete(task));
        this.inFlight.add(task);
        if (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
      }
    } catch (error) {
      if (!this.stopped)
        this.deps.logger.error({ err: error, consumer: this.durable }, 'consumer loop ended');
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.messages?.close().catch(() => undefined);
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  private async process(msg: JsMsg): Promise<void> {
    const { delivery, malformedHeaders } = this.delivery(msg);
    if (delivery.deliveryCount > 1)
      this.deps.metrics?.redeliveries.inc({ consumer: this.durable, subject: delivery.subject });
    const admitted = await this.admit(delivery, malformedHeaders);
    if (admitted) await this.handle(delivery, admitted.payload);
  }

  /** What the logs and a dead letter of `msg` need; a header block nats.js refuses is reported, not thrown. */
  private delivery(msg: JsMsg): { delivery: Delivery; malformedHeaders: boolean } {
    let headers: Record<string, string>;
    let malformedHeaders = false;
    try {
      headers = headersToRecord(msg.headers);
    } catch {
      // nats.js refuses a header name outside printable ASCII only when the message is read.
      headers = {};
      malformedHeaders = true;
    }
    const subject = unprefixSubject(this.deps.ns, msg.subject);
    const deliveryCount = msg.info.deliveryCount;
    const eventId = headers[HEADERS.msgId.toLowerCase()] ?? `${msg.info.stream}:${msg.seq}`;
    const log = {
      consumer: this.durable,
      subject,
      eventId,
      deliveryCount,
      streamSeq: msg.seq,
      traceId: traceIdOf(headers),
    };
    return { delivery: { msg, headers, subject, eventId, deliveryCount, log }, malformedHeaders };
  }

  /**
   * The validated payload, or undefined when the message was dead-lettered instead: delivered too
   * often, a malformed header block or event id, a body that is not JSON, nests too deep or fails
   * the contract (none of which a redelivery would change).
   */
  private async admit(
    delivery: Delivery,
    malformedHeaders: boolean,
  ): Promise<{ payload: EventPayload<E> } | undefined> {
    const { msg, eventId } = delivery;
    if (delivery.deliveryCount > this.maxDeliver)
      return this.deadLetter(
        delivery,
        'max_deliver_exceeded',
        `no success after ${this.maxDeliver} deliveries`,
      );
    if (malformedHeaders) return this.deadLetter(delivery, 'validation_failed', 'malformed header block');
    const idProblem = eventIdProblem(eventId);
    if (idProblem) {
      // Handlers store the event id (processOnce, causation ids): one Postgres refuses would fail
      // every redelivery and hold the consumer up to maxDeliver times. The stream position names it.
      const position = `${msg.info.stream}:${msg.seq}`;
      return this.deadLetter(
        { ...delivery, eventId: position },
        'validation_failed',
        `Nats-Msg-Id ${idProblem}`,
      );
    }
    let body: unknown;
    try {
      body = decodeJson(msg.data, `${this.event.subject} payload`);
    } catch (error) {
      // decodeJson's own message, never the parser's (it quotes the payload).
      const detail = error instanceof AppError ? error.message : 'invalid JSON';
      return this.deadLetter(delivery, 'invalid_json', detail);
    }
    if (nestsDeeperThan(body, MAX_BODY_DEPTH)) {
      const detail = `${this.event.subject} payload nested deeper than ${MAX_BODY_DEPTH} levels`;
      return this.deadLetter(delivery, 'validation_failed', detail);
    }
    try {
      const parsed = this.event.schema.safeParse(body);
      if (!parsed.success) {
        const error = validationError(`${this.event.subject} payload`, parsed.error);
        return this.deadLetter(delivery, 'validation_failed', error.message);
      }
      return { payload: parsed.data as EventPayload<E> };
    } catch (error) {
      // A schema that throws (a refinement's bug, a stack overflow) would throw on every redelivery.
      this.countUnexpected(delivery.subject, delivery.log, error, 'event validation failed unexpectedly');
      return this.deadLetter(
        delivery,
        'validation_failed',
        `${this.event.subject} payload could not be validated`,
      );
    }
  }

  /** Runs the handler: ack on success; a failure is retried with backoff or dead-lettered. */
  private async handle(delivery: Delivery, payload: EventPayload<E>): Promise<void> {
    const { msg, headers, subject, eventId, deliveryCount, log } = delivery;
    const ctx: EventContext = {
      subject,
      headers,
      authorization: headers[HEADERS.authorization],
      idempotencyKey: headers[HEADERS.idempotencyKey],
      eventId,
      deliveryCount,
      streamSeq: msg.seq,
    };
    // Long handlers keep their lease: tell the server we are still working before ack_wait runs out.
    const keepAlive = setInterval(() => msg.working(), Math.max(500, Math.floor(this.ackWaitMs / 2)));
    keepAlive.unref();
    try {
      await withMessagingSpan(
        'consume',
        msg.subject,
        headers,
        {
          'messaging.message.id': eventId,
          'messaging.consumer.group.name': this.durable,
          'messaging.message.body.size': msg.data.length,
        },
        () => this.handler(payload, ctx),
      );
      msg.ack();
    } catch (error) {
      // Retried like a retryable error (it may be transient), dead-lettered past maxDeliver.
      if (!(error instanceof AppError))
        this.countUnexpected(delivery.subject, delivery.log, error, 'event handler failed unexpectedly');
      const retryable = !(error instanceof AppError) || error.retryable;
      if (!retryable) {
        const app = error as AppError;
        await this.deadLetter(delivery, 'non_retryable_error', `${app.code}: ${app.message}`, app.code);
        return;
      }
      const code = error instanceof AppError ? error.code : 'internal';
      if (deliveryCount >= this.maxDeliver) {
        await this.deadLetter(
          delivery,
          'max_deliver_exceeded',
          `last error ${code} after ${deliveryCount} deliveries`,
          code,
        );
        return;
      }
      const delay = nakDelayMs(deliveryCount, this.backoffMs);
      this.deps.logger.warn({ ...log, code, delayMs: delay }, 'event handler failed, will retry');
      msg.nak(delay);
    } finally {
      clearInterval(keepAlive);
    }
  }

  private countUnexpected(
    subject: string,
    log: Record<string, unknown>,
    error: unknown,
    message: string,
  ): void {
    this.deps.metrics?.countUnexpected('nats-event', unprefixSubject(this.deps.ns, subject));
    this.deps.logger.error({ ...log, ...unexpectedErrorFields(error) }, message);
  }

  /** Moves the message to the dead letters (never lost: a failed publish naks it); resolves to undefined. */
  private async deadLetter(
    delivery: Delivery,
    reason: DeadLetterReason,
    detail: string,
    errorCode?: string,
  ): Promise<undefined> {
    const { msg, headers, subject, eventId } = delivery;
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(headers))
      if (!DROPPED_ON_DEAD_LETTER.has(key)) out[key] = value;
    out[DLQ_HEADERS.reason] = reason;
    out[DLQ_HEADERS.error] = sanitizeHeaderValue(detail);
    out[DLQ_HEADERS.originalSubject] = subject;
    out[DLQ_HEADERS.consumer] = this.durable;
    out[DLQ_HEADERS.deliveryCount] = String(msg.info.deliveryCount);
    out[DLQ_HEADERS.stream] = msg.info.stream;
    out[DLQ_HEADERS.streamSeq] = String(msg.seq);
    out['orgmesh-event-id'] = eventId;
    if (errorCode) out[HEADERS.errorCode] = errorCode;
    const log = {
      consumer: this.durable,
      subject,
      eventId,
      reason,
      deliveryCount: msg.info.deliveryCount,
      streamSeq: msg.seq,
    };
    try {
      await this.deps.ensureDeadLetterStream();
      // Keyed by consumer and event: a retried dead-lettering is deduplicated, two consumers' are not.
      await this.deps.js.publish(deadLetterSubject(this.deps.ns, subject), msg.data, {
        msgID: `${this.durable}:${eventId}`,
        headers: recordToHeaders(out),
      });
      // term() without a reason: nats-server before 2.10.4 does not understand `+TERM <reason>`.
      msg.term();
      this.deps.logger.warn(log, 'message dead-lettered');
    } catch (error) {
      // Never lose it: without a stored dead letter the message goes back to the stream.
      this.deps.logger.error(
        { ...log, err: error },
        'dead-letter publish failed, message will be redelivered',
      );
      msg.nak(retryDelayMs(msg.info.deliveryCount, { baseMs: 500, maxMs: 10_000 }));
    }
    return undefined;
  }
}

/** One message being processed: what its handling, its logs and its dead letter need. */
interface Delivery {
  msg: JsMsg;
  headers: Record<string, string>;
  /** Without the namespace prefix. */
  subject: string;
  eventId: string;
  deliveryCount: number;
  log: Record<string, unknown>;
}

/** Why an event id cannot key the consumer's processOnce record (the header id rule of the bus). */
export const eventIdProblem = headerIdProblem;
