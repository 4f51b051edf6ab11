import { DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { AppError, HEADERS, PersonApprovalVisibility } from '@orgmesh/contracts';
import { subjectMatches, type MessageBus } from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';
import type { Caller } from '../auth/caller.js';
import { isVisibleTo, isVisibleToPerson } from './visibility.js';
import {
  EVENT_CONTEXTS,
  formatCursor,
  invalidCursor,
  parseCursor,
  type CursorSource,
  type EventContext,
  type Positions,
  type SubjectPlan,
} from './subscription.js';

/** One lifecycle event as subscribers receive it (SSE `data`, gRPC `Event`). */
export interface LifecycleEvent {
  /** Contract subject, e.g. `sessions.v1.transitioned`. */
  subject: string;
  context: EventContext;
  /** The JetStream sequence in its context's stream. */
  sequence: number;
  /** Resume from here: the SSE id (Last-Event-ID) and the gRPC `cursor`. */
  cursor: string;
  /** `Nats-Msg-Id`: the event id, stable across redeliveries. */
  eventId: string | null;
  publishedAt: string;
  payload: unknown;
}

const QUEUE_CAPACITY = 256;

/**
 * Opens event subscriptions over the context streams with ephemeral ordered consumers (no server
 * state survives the subscriber). Each subscription starts where its cursor says, or at the end of
 * each stream; a stream that does not exist yet is watched until it appears, then read from its start.
 */
export class EventHub {
  private readonly open = new Set<EventSubscription>();

  constructor(
    private readonly bus: MessageBus,
    private readonly logger: Logger,
    private readonly missingStreamRetryMs = 2_000,
    /** Bounds the mesh's answer to a person's visibility question (the gateway's RPC timeout). */
    private readonly rpcTimeoutMs = 10_000,
  ) {}

  /**
   * Resolves once every existing stream's start position is fixed: anything published after that is
   * delivered. Throws `invalid_cursor` for a malformed cursor or one beyond a stream's head.
   */
  async subscribe(request: {
    plan: SubjectPlan;
    cursor?: string;
    cursorSource?: CursorSource;
    caller: Caller;
  }): Promise<EventSubscription> {
    const contexts = EVENT_CONTEXTS.filter((c) => request.plan.has(c));
    const source = request.cursorSource ?? 'header.Last-Event-ID';
    const positions = parseCursor(contexts, request.cursor, source);
    const subscription = new EventSubscription(contexts, positions, request.caller, () =>
      this.open.delete(subscription),
    );
    this.open.add(subscription);
    try {
      await Promise.all(
        contexts.map((context) =>
          this.startContext(subscription, context, request.plan.get(context) ?? [], source),
        ),
      );
    } catch (error) {
      await subscription.close();
      throw error;
    }
    return subscription;
  }

  /** Ends every open subscription (shutdown). */
  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.open].map((s) => s.close()));
  }

  private async startContext(
    subscription: EventSubscription,
    context: EventContext,
    patterns: string[],
    source: CursorSource,
  ): Promise<void> {
    const stream = this.bus.streamName(context);
    const lastSeq = await this.lastSequence(stream);
    // A cursor from the future is forged or from another deployment: resuming "after" it would
    // silently skip every event up to it, so it is refused instead.
    const asked = subscription.positions.get(context);
    if (asked !== undefined && asked > (lastSeq ?? 0)) {
      throw invalidCursor(`${context} is beyond the head of its stream (${lastSeq ?? 0})`, source);
    }
    if (lastSeq === undefined) {
      if (!subscription.positions.has(context)) subscription.positions.set(context, 0);
      void this.waitForStream(subscription, context, stream, patterns);
      return;
    }
    if (!subscription.positions.has(context)) subscription.positions.set(context, lastSeq);
    await this.consume(subscription, context, stream, patterns);
  }

  private async lastSequence(stream: string): Promise<number | undefined> {
    try {
      const info = await this.bus.jsm.streams.info(stream);
      return info.state.last_seq;
    } catch (error) {
      if (isStreamNotFound(error)) return undefined;
      throw new AppError('unavailable', 'the event streams are unreachable', { cause: error });
    }
  }

  private async waitForStream(
    subscription: EventSubscription,
    context: EventContext,
    stream: string,
    patterns: string[],
  ): Promise<void> {
    while (!subscription.closed) {
      await new Promise((resolve) => setTimeout(resolve, this.missingStreamRetryMs).unref());
      if (subscription.closed) return;
      try {
        if ((await this.lastSequence(stream)) !== undefined) {
          await this.consume(subscription, context, stream, patterns);
          return;
        }
      } catch (error) {
        this.logger.warn({ err: error, stream }, 'event stream lookup failed');
      }
    }
  }

  private async consume(
    subscription: EventSubscription,
    context: EventContext,
    stream: string,
    patterns: string[],
  ): Promise<void> {
    // One server-side filter when a single pattern is asked for; otherwise the context's whole
    // subject space filtered here (servers before 2.10 take one filter subject per consumer).
    const single = patterns.length === 1 ? patterns[0] : undefined;
    const consumer = await this.bus.js.consumers.get(stream, {
      filter_subjects: this.bus.subject(single ?? `${context}.>`),
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: (subscription.positions.get(context) ?? 0) + 1,
    });
    const messages = await consumer.consume({ max_messages: 128 });
    subscription.attach(messages);
    void (async () => {
      try {
        for await (const msg of messages) {
          const subject = this.unprefix(msg.subject);
          if (!single && !patterns.some((p) => subjectMatches(p, subject))) {
            subscription.skip(context, msg.seq);
            continue;
          }
          const payload = decode(msg);
          if (!(await this.isVisible(subscription.caller, context, payload))) {
            subscription.skip(context, msg.seq);
            continue;
          }
          await subscription.push(context, msg.seq, (cursor) => ({
            subject,
            context,
            sequence: msg.seq,
            cursor,
            eventId: msg.headers?.get(HEADERS.msgId) || null,
            publishedAt: msg.time.toISOString(),
            payload,
          }));
        }
      } catch (error) {
        if (!subscription.closed) {
          this.logger.warn({ err: error, stream }, 'event subscription failed');
          subscription.fail(
            new AppError('unavailable', 'the event stream was interrupted; resume with the last event id', {
              cause: error,
            }),
          );
        }
      }
    })();
  }

  /**
   * The same rule for live and replayed events. A person's approval events are asked of the mesh
   * with the person's own token, event by event (no cache: a delegation or a decision changes the
   * answer); a failed question fails the subscription before the event's position is taken, so the
   * client resumes at it instead of missing it.
   */
  private isVisible(caller: Caller, context: EventContext, payload: unknown): Promise<boolean> | boolean {
    if (caller.kind !== 'person') return isVisibleTo(caller, context, payload);
    return isVisibleToPerson(caller, context, payload, async (taskIds) => {
      const answer = await this.bus.request(
        PersonApprovalVisibility,
        { taskIds },
        { authorization: caller.authorization, timeoutMs: this.rpcTimeoutMs },
      );
      return answer.visible;
    });
  }

  private unprefix(wire: string): string {
    const prefix = this.bus.namespace.subjectPrefix;
    return prefix && wire.startsWith(prefix) ? wire.slice(prefix.length) : wire;
  }
}

function decode(msg: JsMsg): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(msg.data));
  } catch {
    return null;
  }
}

function isStreamNotFound(error: unknown): boolean {
  const e = error as { code?: unknown; api_error?: { err_code?: number }; message?: unknown };
  return (
    e?.api_error?.err_code === 10059 ||
    (typeof e?.message === 'string' && /stream not found/i.test(e.message))
  );
}

/** One subscriber's merged, bounded view of its context streams. */
export class EventSubscription implements AsyncIterable<LifecycleEvent> {
  closed = false;
  private readonly queue: LifecycleEvent[] = [];
  private readonly attached: ConsumerMessages[] = [];
  private wakeReader: (() => void) | undefined;
  private readonly wakeWriters: Array<() => void> = [];
  private failure: AppError | undefined;

  constructor(
    readonly contexts: readonly EventContext[],
    readonly positions: Positions,
    readonly caller: Caller,
    private readonly onClose: () => void,
  ) {}

  /** The cursor of the subscription's current position (before any event arrives). */
  cursor(): string {
    return formatCursor(this.contexts, this.positions);
  }

  attach(messages: ConsumerMessages): void {
    if (this.closed) messages.stop();
    else this.attached.push(messages);
  }

  skip(context: EventContext, seq: number): void {
    this.positions.set(context, seq);
  }

  async push(context: EventContext, seq: number, build: (cursor: string) => LifecycleEvent): Promise<void> {
    while (this.queue.length >= QUEUE_CAPACITY && !this.closed) {
      await new Promise<void>((resolve) => this.wakeWriters.push(resolve));
    }
    if (this.closed) return;
    this.positions.set(context, seq);
    this.queue.push(build(formatCursor(this.contexts, this.positions)));
    this.wakeReader?.();
  }

  fail(error: AppError): void {
    this.failure ??= error;
    this.wakeReader?.();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const messages of this.attached) messages.stop();
    this.wakeReader?.();
    for (const wake of this.wakeWriters.splice(0)) wake();
    this.onClose();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LifecycleEvent> {
    try {
      for (;;) {
        const next = this.queue.shift();
        if (next) {
          this.wakeWriters.shift()?.();
          yield next;
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.closed) return;
        await new Promise<void>((resolve) => {
          this.wakeReader = resolve;
        });
        this.wakeReader = undefined;
      }
    } finally {
      await this.close();
    }
  }
}
