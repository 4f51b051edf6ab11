/** What a request handler knows about the message besides its payload. */
export interface MessageContext {
  /** The contract subject (without the namespace prefix). */
  subject: string;
  /** Every header, names lower-cased. */
  headers: Record<string, string>;
  /** The caller's `authorization` header (its JWT), for the handler to verify. */
  authorization?: string;
  idempotencyKey?: string;
}

/** What an event handler knows about the delivery besides its payload. */
export interface EventContext extends MessageContext {
  /** `Nats-Msg-Id`: the event id, stable across redeliveries; dedupe on it (see processOnce). */
  eventId: string;
  /** 1 on the first delivery. */
  deliveryCount: number;
  streamSeq: number;
}

export interface ConsumeOptions {
  /** Deliveries before a message that keeps failing is dead-lettered; default 10. */
  maxDeliver?: number;
  /** Nak delay after the n-th failed delivery (last entry repeats); default [100, 500, 2000, 5000]. */
  backoffMs?: number[];
  /** How long the server waits for an ack before redelivering; default 30 s (extended while the handler runs). */
  ackWaitMs?: number;
  /**
   * Where a new durable starts: every stored event (`all`, default), only new ones, or (`startTime`)
   * the events stored at or after that instant. Ignored once it exists.
   */
  deliverPolicy?: 'all' | 'new' | { startTime: Date };
  /** Handlers running at once for this consumer; default 1 (in stream order). */
  concurrency?: number;
  /**
   * Consume a subject other than the event's own, validated with the event's schema, e.g. one
   * role's inbox on a work-queue stream. Contract subject, without the namespace prefix.
   */
  subject?: string;
  /**
   * The stream is another service's (sessions reading the mesh's task events): where none captures
   * the subject yet, never create it but start consuming once its owner has. `consume` then
   * resolves at once with a handle that holds the wait (owner-wait.ts). Without it, a missing
   * stream is created with defaults, which a secured bus refuses to any identity but its owner.
   * `lookEveryMs`: a fixed interval between looks instead of 100 ms doubling to 2 s.
   */
  waitForOwner?: boolean | { lookEveryMs: number };
}

export interface ConsumerHandle {
  /** Stops pulling, waits for the handlers in flight (they ack or nak), keeps the durable. */
  stop(): Promise<void>;
  /** The durable consumer name on the server (namespace suffix included). */
  readonly durable: string;
  /** The stream it reads. */
  readonly stream: string;
}

/** Connection events, for health endpoints and transports that surface them. */
export type BusStatus =
  | { type: 'disconnect'; server: string }
  | { type: 'reconnect'; server: string }
  | { type: 'reconnecting' }
  | { type: 'error'; error: Error }
  | { type: 'close' };
