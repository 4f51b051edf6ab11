import { connect } from '@nats-io/transport-node';
import {
  nanos,
  nkeyAuthenticator,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/nats-core';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import {
  AppError,
  parseOrThrow,
  type EventDefinition,
  type EventPayload,
  type RpcDefinition,
  type RpcRequest,
  type RpcRequestInput,
  type RpcResponse,
} from '@orgmesh/contracts';
import { createLogger, type Logger } from '@orgmesh/telemetry';
import { busStatusOf, logNatsStatus } from './bus-status.js';
import { assertReadable, readNkeySeed, natsTlsOptions, type BusOptions } from './bus-options.js';
import { encodeJson } from './codec.js';
import { EventConsumer } from './event-consumer.js';
import { callHeaders, recordToHeaders, type CallOptions } from './headers.js';
import { mapPublishError, mapRequestError } from './nats-errors.js';
import { inboxPrefixFor } from './permissions.js';
import {
  contextOfSubject,
  contextStreamName,
  deadLetterStreamName,
  durableNameFor,
  prefixSubject,
  validateNamespace,
  type Namespace,
} from './names.js';
import { MessagingMetrics } from './metrics.js';
import { consumeOnceOwnerCreates } from './owner-wait.js';
import { ReplyInbox } from './reply-inbox.js';
import { RpcServer } from './rpc-server.js';
import { decodeReply, publishAck } from './reply-decoding.js';
import { StreamProvisioner, type StreamOptions } from './stream-provisioning.js';
import { withMessagingSpan } from './tracing.js';
import { coalesceWrites } from './write-coalescing.js';
import type { BusStatus, ConsumeOptions, ConsumerHandle, EventContext, MessageContext } from './types.js';

export type { CallOptions } from './headers.js';

/**
 * Connects to NATS (reconnecting forever, logging each disconnect and reconnect) and returns the
 * bus. The first connection is awaited even when the server is not up yet.
 */
export async function connectBus(opts: BusOptions): Promise<MessageBus> {
  const ns: Namespace = { subjectPrefix: opts.subjectPrefix ?? '', nameSuffix: opts.nameSuffix ?? '' };
  validateNamespace(ns);
  const logger = opts.logger ?? createLogger({ service: opts.name });
  const seed = opts.nkeySeedFile ? readNkeySeed(opts.nkeySeedFile) : undefined;
  const inboxPrefix = seed ? inboxPrefixFor(opts.identity ?? opts.name) : undefined;
  const tls = natsTlsOptions(opts.url, opts.tlsCaFile);
  if (opts.tlsCaFile) assertReadable(opts.tlsCaFile);
  const nc = await connect({
    servers: opts.url.split(',').map((s) => s.trim()),
    name: opts.name,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: 500,
    reconnectJitter: 250,
    pingInterval: 20_000,
    maxPingOut: 3,
    // The client otherwise builds an Error (stack capture) for every request, in case it times out:
    // about a sixth of the CPU of a small RPC. Failures are mapped to AppErrors naming the subject anyway.
    noAsyncTraces: true,
    noEcho: opts.noEcho ?? false,
    ...(seed ? { authenticator: nkeyAuthenticator(seed), inboxPrefix } : {}),
    ...(tls ? { tls } : {}),
  });
  if (opts.coalesceWrites !== false && !coalesceWrites(nc))
    logger.warn({ name: opts.name }, 'nats client internals changed, writes are not coalesced');
  const js = jetstream(nc, { timeout: opts.publishTimeoutMs ?? 5_000 });
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc);
  } catch (error) {
    await nc.close();
    throw new AppError('unavailable', 'NATS JetStream is not enabled on the server', { cause: error });
  }
  logger.info(
    { server: nc.getServer(), name: opts.name, prefix: ns.subjectPrefix || undefined },
    'nats connected',
  );
  return new MessageBus(nc, js, jsm, { ...opts, inboxPrefix }, ns, logger);
}

/**
 * The service's door to NATS: typed RPC (request/serve), JetStream events (publish/consume),
 * stream provisioning, and a graceful close. Everything is validated against the contracts.
 */
export class MessageBus {
  readonly name: string;
  readonly logger: Logger;
  /** The bus's series in the service's registry (BusOptions.metrics), if one was given. */
  readonly metrics: MessagingMetrics | undefined;
  private readonly requestTimeoutMs: number;
  private readonly publishTimeoutMs: number;
  private readonly closeGraceMs: number;
  private readonly consumers = new Set<ConsumerHandle>();
  /** The serving side of RPC: subscriptions, requests in flight, the last-resort boundary. */
  private readonly rpcServer: RpcServer;
  private readonly statusListeners = new Set<(status: BusStatus) => void>();
  /** The JetStream streams and durable consumers this bus provisions. */
  private readonly provisioner: StreamProvisioner;
  /** The replies of this bus's RPC calls and the acks of its publishes. */
  private readonly replies: ReplyInbox;
  private closing: Promise<void> | undefined;

  constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    options: BusOptions & { inboxPrefix?: string | undefined },
    readonly namespace: Namespace,
    logger: Logger,
  ) {
    this.name = options.name;
    this.logger = logger;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5_000;
    this.closeGraceMs = options.closeGraceMs ?? 10_000;
    this.metrics = options.metrics ? MessagingMetrics.of(options.metrics) : undefined;
    this.replies = new ReplyInbox(nc, options.inboxPrefix);
    this.rpcServer = new RpcServer(nc, namespace, this.name, logger, this.metrics);
    this.provisioner = new StreamProvisioner(jsm, namespace, options.streamReplicas ?? 1, logger);
    void this.watchStatus();
  }

  private async watchStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      logNatsStatus(this.logger, status);
      const busStatus = busStatusOf(status);
      if (busStatus) this.emitStatus(busStatus);
    }
    this.emitStatus({ type: 'close' });
  }

  private emitStatus(status: BusStatus): void {
    for (const listener of this.statusListeners) listener(status);
  }

  /** Subscribes to connection events; returns the unsubscribe function. */
  onStatus(listener: (status: BusStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Readiness: a round trip to the server, or `unavailable`. */
  async ping(timeoutMs = 2_000): Promise<void> {
    if (this.nc.isClosed()) throw new AppError('unavailable', 'nats connection closed');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.nc.flush(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new AppError('unavailable', 'nats did not answer')), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The wire subject of a contract subject (namespace prefix applied). */
  subject(raw: string): string {
    return prefixSubject(this.namespace, raw);
  }

  /** The stream owned by a context: `streamNameFor(context)` plus the namespace suffix. */
  streamName(context: string): string {
    return contextStreamName(this.namespace, context);
  }

  /** A durable consumer name plus the namespace suffix, sanitised for NATS (no dots). */
  durableName(name: string): string {
    return durableNameFor(this.namespace, name);
  }

  // ---------------------------------------------------------------- RPC

  /**
   * Calls an RPC: validates the request (`validation_failed` before anything is sent), sends it
   * with the caller's metadata in headers, and returns the validated response. Error replies are
   * rebuilt as AppError; no responder → `unavailable`; no reply in time → `timeout`.
   */
  async request<R extends RpcDefinition>(
    rpc: R,
    payload: RpcRequestInput<R>,
    opts: CallOptions = {},
  ): Promise<RpcResponse<R>> {
    const body = parseOrThrow(rpc.request, payload, `${rpc.subject} request`);
    const subject = this.subject(rpc.subject);
    const headers = callHeaders(opts);
    const data = encodeJson(body);
    return withMessagingSpan(
      'request',
      subject,
      headers,
      { 'messaging.message.body.size': data.length },
      async () => {
        let reply: Msg;
        try {
          reply = await this.replies.request(subject, data, {
            timeoutMs: opts.timeoutMs ?? this.requestTimeoutMs,
            headers: recordToHeaders(headers),
          });
        } catch (error) {
          throw mapRequestError(error, rpc.subject);
        }
        return decodeReply(rpc, reply);
      },
    );
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
    return this.rpcServer.serve(rpc, handler, opts);
  }

  /**
   * How many members each RPC this bus serves holds in its queue group (RpcServer.setWeight): a
   * replica of weight w beside n replicas of weight 1 takes w / (w + n) of the requests.
   */
  setServeWeight(weight: number): void {
    this.rpcServer.setWeight(weight);
  }

  /** Requests this bus's RPC subscriptions have taken so far. */
  get requestsTaken(): number {
    return this.rpcServer.requestsTaken;
  }

  /** Resolves when every request handler in flight has replied, or after `timeoutMs`. */
  async whenIdle(timeoutMs = this.closeGraceMs): Promise<void> {
    await this.rpcServer.whenIdle(timeoutMs);
  }

  // ---------------------------------------------------------------- events

  /**
   * Publishes an event to JetStream with `Nats-Msg-Id` = eventId (the stream drops a repeat
   * within its duplicate window and answers `duplicate: true`). The payload is validated first.
   */
  async publish<E extends EventDefinition>(
    event: E,
    payload: EventPayload<E>,
    opts: { eventId: string; headers?: Record<string, string> },
  ): Promise<{ seq: number; duplicate: boolean }> {
    const body = parseOrThrow(event.schema, payload, `${event.subject} payload`);
    return this.publishRaw(event.subject, encodeJson(body), opts);
  }

  /**
   * Publishes an already validated and encoded payload (the outbox relay's path; services use
   * `publish`). `rawSubject` is the contract subject without the namespace prefix.
   */
  async publishRaw(
    rawSubject: string,
    data: Uint8Array,
    opts: { eventId: string; headers?: Record<string, string> },
  ): Promise<{ seq: number; duplicate: boolean }> {
    const subject = this.subject(rawSubject);
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    return withMessagingSpan(
      'publish',
      subject,
      headers,
      { 'messaging.message.id': opts.eventId, 'messaging.message.body.size': data.length },
      async () => {
        try {
          // Nats-Msg-Id: the stream drops a second message with this id inside its duplicate window.
          const natsHeaders = recordToHeaders({ ...headers, 'Nats-Msg-Id': opts.eventId })!;
          const reply = await this.replies.request(subject, data, {
            timeoutMs: this.publishTimeoutMs,
            headers: natsHeaders,
          });
          return publishAck(reply);
        } catch (error) {
          throw mapPublishError(error, rawSubject);
        }
      },
    );
  }

  /**
   * Creates the stream owned by `context` (`<CONTEXT><suffix>` capturing `<prefix><context>.>`),
   * or brings an existing one to the given settings. Idempotent; safe from several replicas.
   */
  async ensureStream(context: string, opts: StreamOptions = {}): Promise<void> {
    await this.provisioner.ensureStream(context, opts);
  }

  /**
   * Provisions the streams for the event contracts a service owns: one per distinct context
   * (RPC contracts are skipped). Returns the stream names.
   */
  async ensureContractStreams(
    contracts: ReadonlyArray<EventDefinition | RpcDefinition>,
    opts: StreamOptions = {},
  ): Promise<string[]> {
    return this.provisioner.ensureContractStreams(contracts, opts);
  }

  /** A work-queue stream (each message taken by one consumer, then gone), e.g. the agent inboxes. */
  async ensureWorkQueue(name: string, subjects: string[]): Promise<void> {
    await this.provisioner.ensureWorkQueue(name, subjects);
  }

  /** A service's store stream (StreamProvisioner.ensureStoreStream). */
  async ensureStoreStream(context: string, subjects: string[], maxMsgsPerSubject: number): Promise<void> {
    await this.provisioner.ensureStoreStream(context, subjects, maxMsgsPerSubject);
  }

  /** The dead-letter stream of this namespace, capturing `<prefix>dlq.>`. */
  async ensureDeadLetterStream(): Promise<void> {
    await this.provisioner.ensureDeadLetterStream();
  }

  /**
   * Deletes every stream of this namespace (names ending with the suffix) and returns their
   * names: test and benchmark cleanup. Refused without a suffix, where it would mean every stream.
   */
  async deleteNamespaceStreams(): Promise<string[]> {
    return this.provisioner.deleteNamespaceStreams();
  }

  /** The dead-letter stream's name (for tools and tests reading dead letters). */
  deadLetterStreamName(): string {
    return deadLetterStreamName(this.namespace);
  }

  /** The stream capturing a contract subject, or undefined when none does yet (StreamProvisioner.streamFor). */
  async streamFor(rawSubject: string): Promise<string | undefined> {
    return this.provisioner.streamFor(rawSubject);
  }

  /**
   * The stream capturing a contract subject; when none does, creates the context's stream with
   * default settings (never changes an existing one). Returns the stream name.
   */
  async ensureStreamFor(rawSubject: string, context: string = contextOfSubject(rawSubject)): Promise<string> {
    return this.provisioner.ensureStreamFor(rawSubject, context);
  }

  /**
   * Consumes an event with a durable pull consumer (created or updated here) and explicit acks.
   * Each message is validated against the contract before the handler sees it. Handler resolves
   * → ack. Retryable AppError or unknown error → nak with backoff. Non-retryable AppError,
   * invalid payload, or `maxDeliver` exhausted → term and dead letter to `<prefix>dlq.<subject>`.
   */
  async consume<E extends EventDefinition>(
    event: E,
    durable: string,
    handler: (payload: EventPayload<E>, ctx: EventContext) => Promise<void>,
    opts: ConsumeOptions = {},
  ): Promise<ConsumerHandle> {
    if (this.closing) throw new AppError('unavailable', 'message bus is closing');
    const rawSubject = opts.subject ?? event.subject;
    // Looked up once here: found, it is the stream to read (ensureStreamFor would look again).
    const owners = opts.waitForOwner ? await this.streamFor(rawSubject) : undefined;
    if (opts.waitForOwner && !owners) {
      return consumeOnceOwnerCreates(
        {
          durable: this.durableName(durable),
          stream: this.streamName(event.context),
          subject: rawSubject,
          exists: async () => (await this.streamFor(rawSubject)) !== undefined,
          start: (started) => this.consume(event, durable, handler, started),
          closing: () => this.closing !== undefined,
          logger: this.logger,
        },
        opts,
      );
    }
    const stream = owners ?? (await this.ensureStreamFor(rawSubject, event.context));
    const name = this.durableName(durable);
    const consumer = new EventConsumer(
      {
        js: this.js,
        ns: this.namespace,
        logger: this.logger,
        ensureDeadLetterStream: () => this.ensureDeadLetterStream(),
        metrics: this.metrics,
      },
      event,
      stream,
      name,
      handler,
      opts,
    );
    await this.ensureDeadLetterStream();
    await this.provisioner.ensureConsumer(stream, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      ...deliverFrom(opts.deliverPolicy),
      filter_subject: this.subject(rawSubject),
      ack_wait: nanos(opts.ackWaitMs ?? 30_000),
      // Unlimited on the server: the consumer itself dead-letters any delivery beyond maxDeliver,
      // so a message whose last attempt crashed or timed out is still dead-lettered, never stranded.
      max_deliver: -1,
      max_ack_pending: Math.max(1000, (opts.concurrency ?? 1) * 4),
    });
    await consumer.start();
    const handle: ConsumerHandle = {
      durable: name,
      stream,
      stop: async () => {
        this.consumers.delete(handle);
        await consumer.stop();
      },
    };
    this.consumers.add(handle);
    this.logger.debug({ consumer: name, stream, subject: rawSubject }, 'consumer started');
    return handle;
  }

  /**
   * Graceful shutdown: stop consumers (handlers in flight finish and ack), stop taking requests,
   * wait up to `closeGraceMs` for requests in flight to be answered, then drain and close.
   */
  async close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    await Promise.allSettled([...this.consumers].map((c) => c.stop()));
    await this.rpcServer.drain();
    await this.whenIdle();
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
    this.logger.info({ name: this.name }, 'nats connection closed');
  }
}

/** The consumer config fields of a durable's starting point. */
function deliverFrom(
  policy: ConsumeOptions['deliverPolicy'],
): Pick<ConsumerConfig, 'deliver_policy' | 'opt_start_time'> {
  if (policy === 'new') return { deliver_policy: DeliverPolicy.New };
  if (policy === undefined || policy === 'all') return { deliver_policy: DeliverPolicy.All };
  return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: policy.startTime.toISOString() };
}
