import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import {
  AppError,
  HEADERS,
  parseOrThrow,
  toErrorBody,
  validationError,
  type RpcDefinition,
  type RpcRequest,
  type RpcResponse,
} from '@orgmesh/contracts';
import { unexpectedErrorFields, type Logger } from '@orgmesh/telemetry';
import { decodeBoundedJson, encodeJson, headerIdProblem } from './codec.js';
import { errorReplyHeaders, headersToRecord, recordToHeaders } from './headers.js';
import type { MessagingMetrics } from './metrics.js';
import { prefixSubject, sanitizeName, unprefixSubject, type Namespace } from './names.js';
import { withMessagingSpan } from './tracing.js';
import { traceIdOf } from './unexpected.js';
import type { MessageContext } from './types.js';

/** One served RPC: what each of its queue-group members subscribes with. */
interface ServedRpc {
  readonly subject: string;
  readonly queue: string;
  readonly callback: (error: Error | null, msg: Msg) => void;
  readonly extras: Subscription[];
}

interface RpcReply {
  data: Uint8Array;
  headers: Record<string, string>;
  /** `ok` or the error code, the `result` label of the latency histogram. */
  result: string;
}

const INTERNAL_ERROR = new AppError('internal', 'internal error');
const INTERNAL_REPLY: RpcReply = {
  data: encodeJson(toErrorBody(INTERNAL_ERROR)),
  headers: errorReplyHeaders(INTERNAL_ERROR),
  result: 'internal',
};

/**
 * The error reply of an AppError. Details that cannot be encoded (too deep, circular, a BigInt)
 * are dropped, keeping the code and message, after `onUnencodable` reports it.
 */
function errorReply(error: AppError, onUnencodable?: () => void): RpcReply {
  let data: Uint8Array;
  try {
    data = encodeJson(toErrorBody(error));
  } catch {
    onUnencodable?.();
    data = encodeJson({ error: { code: error.code, message: error.message } });
  }
  return { data, headers: errorReplyHeaders(error), result: error.code };
}

/**
 * The serving side of RPC (MessageBus.serve delegates here): the queue-group subscriptions, the
 * requests in flight, and the last-resort boundary that answers every request whatever happens.
 */
export class RpcServer {
  private readonly subscriptions = new Set<Subscription>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Every RPC served, with the extra members it holds in its queue group beyond its first (setWeight). */
  private readonly served: ServedRpc[] = [];
  private weight = 1;
  /** Requests taken so far, answered or not (a replica's own load, for RpcPacking-like policies). */
  requestsTaken = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly namespace: Namespace,
    private readonly name: string,
    private readonly logger: Logger,
    private readonly metrics: MessagingMetrics | undefined,
  ) {}

  private subject(raw: string): string {
    return prefixSubject(this.namespace, raw);
  }

  /**
   * Serves an RPC in a queue group (default: the bus name). The request is validated first: a
   * malformed one is answered `validation_failed` naming the field paths and never reaches the
   * handler. An AppError is replied with its status and `{error:{code,message,details}}`; any
   * other error is logged and replied as `internal` without its message.
   */
  serve<R extends RpcDefinition>(
    rpc: R,
    handler: (payload: RpcRequest<R>, ctx: MessageContext) => Promise<RpcResponse<R>>,
    opts: { queue?: string } = {},
  ): Subscription {
    const served: ServedRpc = {
      subject: this.subject(rpc.subject),
      queue: opts.queue ?? sanitizeName(this.name),
      callback: (error, msg) => {
        if (error) {
          this.logger.error({ err: error, subject: rpc.subject }, 'rpc subscription failed');
          return;
        }
        this.requestsTaken++;
        this.track(this.handleRequest(rpc, handler, msg), rpc.subject);
      },
      extras: [],
    };
    this.served.push(served);
    const sub = this.subscribe(served);
    this.resize(served);
    // The subscription answered stands for the RPC: when it ends (drained by the Nest transport's
    // close, unsubscribed), the extra members end with it, or they would go on taking requests.
    void sub.closed.then(() => {
      const at = this.served.indexOf(served);
      if (at >= 0) this.served.splice(at, 1);
      for (const extra of served.extras.splice(0)) extra.drain().catch(() => undefined);
    });
    return sub;
  }

  /**
   * How many members each served RPC holds in its queue group (default 1). NATS hands each request
   * to one member of the group chosen uniformly, so a replica of weight w beside n replicas of
   * weight 1 takes w / (w + n) of the requests: replicas can pack the load on one of them and
   * spread it again. A member given up is drained, so a request NATS routed to it before the
   * change is still answered.
   */
  setWeight(weight: number): void {
    if (!Number.isInteger(weight) || weight < 1)
      throw new Error(`rpc weight must be a whole number ≥ 1, got ${weight}`);
    this.weight = weight;
    for (const served of this.served) this.resize(served);
  }

  private subscribe(served: ServedRpc): Subscription {
    const sub = this.nc.subscribe(served.subject, { queue: served.queue, callback: served.callback });
    this.subscriptions.add(sub);
    void sub.closed.then(() => this.subscriptions.delete(sub));
    return sub;
  }

  private resize(served: ServedRpc): void {
    while (served.extras.length < this.weight - 1) served.extras.push(this.subscribe(served));
    for (const extra of served.extras.splice(this.weight - 1)) extra.drain().catch(() => undefined);
  }

  private track(task: Promise<unknown>, subject: string): void {
    const tracked: Promise<unknown> = task
      .catch((error: unknown) => {
        // handleRequest answers every failure itself; reaching here is a bug in the boundary.
        this.metrics?.countUnexpected('nats-rpc', subject);
        this.logger.error({ subject, ...unexpectedErrorFields(error) }, 'rpc boundary failed');
      })
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  /**
   * One request, answered whatever happens: a reply, the AppError the handler threw, or, for
   * anything else (a throw from the handler or while encoding, a reply that cannot be sent),
   * `internal` logged once without the payload, counted, and the subscription keeps serving.
   */
  private async handleRequest<R extends RpcDefinition>(
    rpc: R,
    handler: (payload: RpcRequest<R>, ctx: MessageContext) => Promise<RpcResponse<R>>,
    msg: Msg,
  ): Promise<void> {
    const started = this.metrics ? process.hrtime.bigint() : 0n;
    let headers: Record<string, string> | undefined;
    let reply: RpcReply;
    try {
      headers = headersToRecord(msg.headers);
    } catch {
      // nats.js refuses a header name outside printable ASCII only when the message is read.
      headers = undefined;
    }
    if (!headers) {
      reply = errorReply(
        new AppError('validation_failed', `invalid ${rpc.subject} request: malformed header block`, {
          details: { issues: [{ path: '(headers)', message: 'malformed header block' }] },
        }),
      );
    } else {
      try {
        reply = { data: await this.answer(rpc, handler, msg, headers), headers: {}, result: 'ok' };
      } catch (error) {
        reply = this.failureReply(rpc.subject, error, headers);
      }
    }
    this.metrics?.rpcDuration.observe(
      { subject: rpc.subject, result: reply.result },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
    if (!msg.reply) return;
    this.sendReply(rpc.subject, msg, reply, headers ?? {});
  }

  /** Decode, validate, run the handler, validate and encode its response; throws what goes wrong. */
  private answer<R extends RpcDefinition>(
    rpc: R,
    handler: (payload: RpcRequest<R>, ctx: MessageContext) => Promise<RpcResponse<R>>,
    msg: Msg,
    headers: Record<string, string>,
  ): Promise<Uint8Array> {
    return withMessagingSpan(
      'serve',
      msg.subject,
      headers,
      { 'messaging.message.body.size': msg.data.length },
      async () => {
        const input = parseOrThrow(
          rpc.request,
          decodeBoundedJson(msg.data, `${rpc.subject} request`),
          `${rpc.subject} request`,
        ) as RpcRequest<R>;
        const ctx: MessageContext = {
          subject: unprefixSubject(this.namespace, msg.subject),
          headers,
          authorization: headers[HEADERS.authorization],
          idempotencyKey: idempotencyKeyOf(headers),
        };
        const result = await handler(input, ctx);
        const checked = rpc.response.safeParse(result);
        if (!checked.success) {
          const issues = validationError('response', checked.error).details?.['issues'];
          this.metrics?.countUnexpected('nats-rpc', rpc.subject);
          this.logger.error(
            { subject: rpc.subject, issues },
            'rpc handler returned a response that breaks its contract',
          );
          throw new AppError('internal', 'internal error');
        }
        return encodeJson(checked.data);
      },
    );
  }

  private failureReply(subject: string, error: unknown, headers: Record<string, string>): RpcReply {
    if (error instanceof AppError) {
      this.logger.debug({ subject, code: error.code }, 'rpc answered with an error');
      return errorReply(error, () => {
        this.metrics?.countUnexpected('nats-rpc', subject);
        this.logger.error(
          { subject, code: error.code, traceId: traceIdOf(headers) },
          'rpc error details not serialisable',
        );
      });
    }
    this.metrics?.countUnexpected('nats-rpc', subject);
    this.logger.error(
      { subject, traceId: traceIdOf(headers), ...unexpectedErrorFields(error) },
      'rpc handler failed unexpectedly',
    );
    return INTERNAL_REPLY;
  }

  private sendReply(subject: string, msg: Msg, reply: RpcReply, headers: Record<string, string>): void {
    try {
      msg.respond(reply.data, { headers: recordToHeaders(reply.headers) });
      return;
    } catch (error) {
      // E.g. a reply above the server's max_payload: the caller still gets an answer, not a timeout.
      this.metrics?.countUnexpected('nats-rpc', subject);
      this.logger.error(
        { subject, traceId: traceIdOf(headers), size: reply.data.length, ...unexpectedErrorFields(error) },
        'rpc reply could not be sent',
      );
    }
    if (reply === INTERNAL_REPLY) return;
    try {
      msg.respond(INTERNAL_REPLY.data, { headers: recordToHeaders(INTERNAL_REPLY.headers) });
    } catch {
      // The connection itself is gone (logged above); no reply can reach the caller now.
    }
  }

  /** Resolves when every request handler in flight has replied, or after `timeoutMs`. */
  async whenIdle(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  /** Stops taking requests: drains every subscription (requests already received still run). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.subscriptions].map((s) => s.drain()));
  }
}

/**
 * The request's idempotency key, which the services store: refused (validation_failed) when
 * empty, longer than a gateway-scoped key can be, or holding NUL or a lone surrogate — a raw bus
 * caller cannot store what the gateway's `Idempotency-Key` rule refuses (issue 17).
 */
function idempotencyKeyOf(headers: Record<string, string>): string | undefined {
  const key = headers[HEADERS.idempotencyKey];
  if (key === undefined) return undefined;
  const problem = headerIdProblem(key);
  if (problem === undefined) return key;
  throw new AppError('validation_failed', `invalid ${HEADERS.idempotencyKey} header: ${problem}`, {
    details: { issues: [{ path: `header.${HEADERS.idempotencyKey}`, message: problem }] },
  });
}
