import {
  createInbox,
  errors as natsErrors,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
} from '@nats-io/nats-core';

interface PendingReply {
  subject: string;
  resolve: (msg: Msg) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * How many other requests must have been answered before a reply token is used again. nats-server
 * matches the subject of every message it routes against the subscriptions (and, on a secured bus,
 * a responder's reply against its permissions and its table of open requests); it caches these per
 * subject, so a reply to a subject it has never seen misses every cache. With a token per request
 * every reply was such a miss. Reusing a small set of tokens keeps them cached (bench/secured-bus:
 * the server's CPU per request at 16 in flight 12.1–12.6 → 11.0–11.2 µs open, 14.1–14.5 → 11.6–12.1
 * µs secured). The wait is what keeps a stray answer from reaching the wrong call: a token whose call
 * timed out or failed is never used again, and an answered one only after 64 more answers, long after
 * any second answer to its request (there is none from orgmesh's responders: an RPC is served in a
 * queue group and answered once; on the secured bus, allow_responses lets a responder answer a
 * request once). The set stays small: the calls in flight plus 64.
 */
const REUSE_AFTER = 64;

/**
 * Request/reply (RPC calls and JetStream publish acks) over one reply subscription per connection.
 *
 * nats.js's own `request` does the same multiplexing, but settling a request also builds an
 * `Error` ("cancelled") for a promise that is already resolved, on every request, whatever
 * `noAsyncTraces` says: the stack capture alone was 7 % of the mesh router's CPU and 9 % of its
 * clients' (cpu profiles of the mesh benchmark). Here a request costs a map entry and a timer, and
 * an error is built only when there is one, of the same classes the client builds (TimeoutError;
 * RequestError caused by NoRespondersError), so callers map failures as before.
 */
export class ReplyInbox {
  private readonly prefix: string;
  private readonly pending = new Map<string, PendingReply>();
  /** Tokens whose request was answered, oldest answer first (see REUSE_AFTER). */
  private readonly answered: string[] = [];
  private next = 0;

  /**
   * @param inboxPrefix the connection's reply prefix (nats.js `inboxPrefix`); on a secured bus each
   *   identity may subscribe only under its own (`_INBOX.<identity>`). Default `_INBOX`.
   */
  constructor(
    private readonly nc: NatsConnection,
    inboxPrefix?: string,
  ) {
    this.prefix = `${createInbox(inboxPrefix)}.`;
    const sub = nc.subscribe(`${this.prefix}*`, { callback: (_error, msg) => this.settle(msg) });
    void this.watchPermissions();
    // The connection closed (or the subscription failed): nothing pending can be answered any more.
    void sub.closed.then(
      () => this.rejectAll(new natsErrors.RequestError('connection closed')),
      (error: unknown) =>
        this.rejectAll(new natsErrors.RequestError('reply subscription failed', { cause: error })),
    );
  }

  /** Requests pending an answer (a gauge for tests). */
  get size(): number {
    return this.pending.size;
  }

  /** Publishes `data` to `subject` with a reply subject of this inbox; resolves with the first answer. */
  request(subject: string, data: Uint8Array, opts: { headers?: MsgHdrs; timeoutMs: number }): Promise<Msg> {
    const token = this.answered.length > REUSE_AFTER ? this.answered.shift()! : (this.next++).toString(36);
    return new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(token)) reject(new natsErrors.TimeoutError());
      }, opts.timeoutMs);
      this.pending.set(token, { subject, resolve, reject, timer });
      try {
        this.nc.publish(subject, data, { reply: this.prefix + token, headers: opts.headers });
      } catch (error) {
        clearTimeout(timer);
        this.pending.delete(token);
        reject(error instanceof Error ? error : new natsErrors.RequestError(String(error)));
      }
    });
  }

  /**
   * The server answers a publish it refuses with an asynchronous `-ERR Permissions Violation for
   * Publish to "<subject>"` and no reply: fail the requests pending on that subject now, with the
   * server's error (mapped to BusPermissionError by the callers), instead of letting them time out.
   */
  private async watchPermissions(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type !== 'error') continue;
      const error = status.error;
      if (!(error instanceof natsErrors.PermissionViolationError) || error.operation !== 'publish') continue;
      for (const [token, pending] of this.pending) {
        if (pending.subject !== error.subject) continue;
        this.pending.delete(token);
        clearTimeout(pending.timer);
        pending.reject(error);
      }
    }
  }

  private settle(msg: Msg): void {
    const token = msg.subject.slice(this.prefix.length);
    const pending = this.pending.get(token);
    if (!pending) return; // timed out already, or a second answer
    this.pending.delete(token);
    clearTimeout(pending.timer);
    this.answered.push(token);
    // The server answers a request nobody subscribes to with an empty 503 status message.
    if (msg.data.length === 0 && statusCode(msg) === 503) {
      const cause = new natsErrors.NoRespondersError(pending.subject);
      pending.reject(new natsErrors.RequestError(cause.message, { cause }));
    } else pending.resolve(msg);
  }

  private rejectAll(error: Error): void {
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.pending.clear();
  }
}

/**
 * The status code of a reply's header block; 0 when it has none or nats.js cannot read it. This runs
 * in the subscription callback: a throw there would end the connection's read loop, and with it every
 * subscription of the bus, so a peer's malformed header block is left for decodeReply to refuse.
 */
function statusCode(msg: Msg): number {
  try {
    return msg.headers?.code ?? 0;
  } catch {
    return 0;
  }
}
