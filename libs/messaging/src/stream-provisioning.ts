import { nanos } from '@nats-io/nats-core';
import {
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { AppError, type EventDefinition, type RpcDefinition } from '@orgmesh/contracts';
import type { Logger } from '@orgmesh/telemetry';
import { isAlreadyInUse, isConsumerNotFound, isStreamNotFound, mapPublishError } from './nats-errors.js';
import {
  contextOfSubject,
  contextStreamName,
  deadLetterStreamName,
  prefixSubject,
  type Namespace,
} from './names.js';

export interface StreamOptions {
  /** How long events are kept; default 7 days. */
  maxAgeMs?: number;
  /** Nats-Msg-Id de-duplication window; default 10 minutes. */
  duplicateWindowMs?: number;
  /** Contract subjects (prefix applied) instead of `<context>.>`. */
  subjects?: string[];
}

type StreamSpec = Partial<StreamConfig> & {
  name: string;
  subjects: string[];
  max_age: number;
  duplicate_window: number;
};

export const DEFAULT_STREAM_MAX_AGE_MS = 7 * 24 * 3600_000;
export const DEFAULT_DUPLICATE_WINDOW_MS = 10 * 60_000;
const DEAD_LETTER_MAX_AGE_MS = 30 * 24 * 3600_000;

/**
 * Creates and updates the JetStream streams and durable consumers of one namespace (MessageBus
 * delegates its stream provisioning here). Idempotent and safe from several replicas at once.
 */
export class StreamProvisioner {
  private readonly ensuredStreams = new Map<string, Promise<void>>();

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly namespace: Namespace,
    private readonly replicas: number,
    private readonly logger: Logger,
  ) {}

  private subject(raw: string): string {
    return prefixSubject(this.namespace, raw);
  }

  private streamName(context: string): string {
    return contextStreamName(this.namespace, context);
  }

  /**
   * Creates the stream owned by `context` (`<CONTEXT><suffix>` capturing `<prefix><context>.>`),
   * or brings an existing one to the given settings. Idempotent; safe from several replicas.
   */
  async ensureStream(context: string, opts: StreamOptions = {}): Promise<void> {
    const maxAge = opts.maxAgeMs ?? DEFAULT_STREAM_MAX_AGE_MS;
    await this.upsertStream(
      {
        name: this.streamName(context),
        subjects: (opts.subjects ?? [`${context}.>`]).map((s) => this.subject(s)),
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        max_age: nanos(maxAge),
        duplicate_window: nanos(Math.min(opts.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS, maxAge)),
        num_replicas: this.replicas,
      },
      true,
    );
  }

  /**
   * Provisions the streams for the event contracts a service owns: one per distinct context
   * (RPC contracts are skipped). Returns the stream names.
   */
  async ensureContractStreams(
    contracts: ReadonlyArray<EventDefinition | RpcDefinition>,
    opts: StreamOptions = {},
  ): Promise<string[]> {
    const contexts = [...new Set(contracts.filter((c) => c.kind === 'event').map((c) => c.context))];
    for (const context of contexts) await this.ensureStream(context, opts);
    return contexts.map((context) => this.streamName(context));
  }

  /** A work-queue stream (each message taken by one consumer, then gone), e.g. the agent inboxes. */
  async ensureWorkQueue(name: string, subjects: string[]): Promise<void> {
    await this.upsertStream(
      {
        name: this.streamName(name),
        subjects: subjects.map((s) => this.subject(s)),
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        max_age: nanos(DEFAULT_STREAM_MAX_AGE_MS),
        duplicate_window: nanos(DEFAULT_DUPLICATE_WINDOW_MS),
        num_replicas: this.replicas,
      },
      true,
    );
  }

  /**
   * A stream a service keeps as a store (contracts' STORE_ACCESS): the last `maxMsgsPerSubject`
   * messages of each subject, kept without an age limit. Created with this bus's replicas; an
   * existing one keeps its settings but for replicas, which are raised.
   */
  async ensureStoreStream(context: string, subjects: string[], maxMsgsPerSubject: number): Promise<void> {
    await this.upsertStream(
      {
        name: this.streamName(context),
        subjects: subjects.map((s) => this.subject(s)),
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        max_age: 0,
        // NATS's own default: a store's writes are keyed by subject, not deduplicated by id.
        duplicate_window: nanos(120_000),
        max_msgs_per_subject: maxMsgsPerSubject,
        num_replicas: this.replicas,
      },
      false,
    );
  }

  /** The dead-letter stream of this namespace, capturing `<prefix>dlq.>`. */
  async ensureDeadLetterStream(): Promise<void> {
    const name = deadLetterStreamName(this.namespace);
    let pending = this.ensuredStreams.get(name);
    if (!pending) {
      pending = this.upsertStream(
        {
          name,
          subjects: [this.subject('dlq.>')],
          retention: RetentionPolicy.Limits,
          storage: StorageType.File,
          max_age: nanos(DEAD_LETTER_MAX_AGE_MS),
          duplicate_window: nanos(DEFAULT_DUPLICATE_WINDOW_MS),
          num_replicas: this.replicas,
        },
        false,
      );
      this.ensuredStreams.set(name, pending);
      pending.catch(() => this.ensuredStreams.delete(name));
    }
    await pending;
  }

  /**
   * Deletes every stream of this namespace (names ending with the suffix) and returns their
   * names: test and benchmark cleanup. Refused without a suffix, where it would mean every stream.
   */
  async deleteNamespaceStreams(): Promise<string[]> {
    if (!this.namespace.nameSuffix)
      throw new AppError('forbidden', 'refusing to delete streams of a namespace without a suffix');
    const deleted: string[] = [];
    for await (const name of this.jsm.streams.names()) {
      if (
        name.endsWith(this.namespace.nameSuffix) &&
        (await this.jsm.streams.delete(name).catch(() => false))
      )
        deleted.push(name);
    }
    this.ensuredStreams.clear();
    return deleted;
  }

  private async upsertStream(config: StreamSpec, update: boolean): Promise<void> {
    let info: StreamInfo | undefined;
    try {
      info = await this.jsm.streams.info(config.name);
    } catch (error) {
      if (!isStreamNotFound(error)) throw mapPublishError(error, config.name);
    }
    if (!info) {
      try {
        await this.jsm.streams.add(config);
        this.logger.info(
          { stream: config.name, subjects: config.subjects, retention: config.retention },
          'stream created',
        );
        return;
      } catch (error) {
        if (!isAlreadyInUse(error)) throw mapPublishError(error, config.name);
        info = await this.jsm.streams.info(config.name);
      }
    }
    const current = info.config;
    // Replicas only go up: a process left at the default (1) must not shrink a stream that another,
    // configured for the cluster (NATS_STREAM_REPLICAS), made durable; lowering is an operator's act.
    const replicas = Math.max(current.num_replicas ?? 1, config.num_replicas ?? 1);
    const raise = replicas > (current.num_replicas ?? 1);
    if (!update) {
      if (raise) await this.raiseReplicas(config.name, current, replicas);
      return;
    }
    const sameSubjects =
      current.subjects.length === config.subjects.length &&
      config.subjects.every((s) => current.subjects.includes(s));
    if (
      sameSubjects &&
      current.max_age === config.max_age &&
      current.duplicate_window === config.duplicate_window &&
      !raise
    )
      return;
    await this.jsm.streams.update(config.name, {
      ...current,
      subjects: config.subjects,
      max_age: config.max_age,
      duplicate_window: config.duplicate_window,
      num_replicas: replicas,
    });
    this.logger.info({ stream: config.name, subjects: config.subjects, replicas }, 'stream updated');
  }

  private async raiseReplicas(name: string, current: StreamConfig, replicas: number): Promise<void> {
    await this.jsm.streams.update(name, { ...current, num_replicas: replicas });
    this.logger.info({ stream: name, replicas }, 'stream updated');
  }

  /**
   * The stream capturing a contract subject, or undefined when none does yet: for a reader that waits
   * for the owner to make it rather than try (a secured bus refuses, and every refusal is logged).
   */
  async streamFor(rawSubject: string): Promise<string | undefined> {
    try {
      return await this.jsm.streams.find(this.subject(rawSubject));
    } catch (error) {
      if (isStreamNotFound(error)) return undefined;
      throw mapPublishError(error, rawSubject);
    }
  }

  /**
   * The stream capturing a contract subject; when none does, creates the context's stream with
   * default settings (never changes an existing one). Returns the stream name.
   */
  async ensureStreamFor(rawSubject: string, context: string = contextOfSubject(rawSubject)): Promise<string> {
    const subject = this.subject(rawSubject);
    try {
      return await this.jsm.streams.find(subject);
    } catch {
      // No stream yet: consumers may start before the owning service has provisioned it.
      const name = this.streamName(context);
      await this.upsertStream(
        {
          name,
          subjects: [this.subject(`${context}.>`)],
          retention: RetentionPolicy.Limits,
          storage: StorageType.File,
          max_age: nanos(DEFAULT_STREAM_MAX_AGE_MS),
          duplicate_window: nanos(DEFAULT_DUPLICATE_WINDOW_MS),
          num_replicas: this.replicas,
        },
        false,
      );
      return name;
    }
  }

  /**
   * Creates the durable, or brings an existing one's ack wait, max deliver and max ack pending to
   * the given values.
   */
  async ensureConsumer(
    stream: string,
    config: Partial<ConsumerConfig> & { durable_name: string },
  ): Promise<void> {
    try {
      const info = await this.jsm.consumers.info(stream, config.durable_name);
      const current = info.config;
      if (current.filter_subject !== config.filter_subject) {
        // The filter cannot change in place without losing the durable's position; refuse loudly.
        throw new AppError(
          'conflict',
          `durable ${config.durable_name} exists with filter ${current.filter_subject ?? '(none)'}`,
        );
      }
      if (
        current.ack_wait !== config.ack_wait ||
        current.max_deliver !== config.max_deliver ||
        current.max_ack_pending !== config.max_ack_pending
      ) {
        await this.jsm.consumers.update(stream, config.durable_name, {
          ack_wait: config.ack_wait,
          max_deliver: config.max_deliver,
          max_ack_pending: config.max_ack_pending,
        });
      }
      return;
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (!isConsumerNotFound(error)) throw mapPublishError(error, `consumer ${config.durable_name}`);
    }
    try {
      await this.jsm.consumers.add(stream, config);
    } catch (error) {
      if (!isAlreadyInUse(error)) throw mapPublishError(error, `consumer ${config.durable_name}`);
    }
  }
}
