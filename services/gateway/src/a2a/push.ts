import { StreamResponse, type TaskPushNotificationConfig } from '@a2a-js/sdk';
import {
  A2A_PUSH_STREAM,
  A2A_PUSH_SUBJECT_ROOT,
  TaskUpdated,
  type Task as MeshTask,
  type TaskChange,
} from '@orgmesh/contracts';
import { type ConsumerHandle, type MessageBus } from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';
import { Counter, type Registry } from 'prom-client';
import { changeEvents } from './a2a-mapping.js';
import { CallbackRefused, checkCallbackUrl, type PushAllowList } from './push-url.js';

/** One stored push config: the A2A config, whose it is, and whether delivery to it has given up. */
export interface StoredPushConfig {
  config: TaskPushNotificationConfig;
  /** Token subject of the caller who created it: only they read, list or delete it. */
  owner: string;
  /** Set when deliveries kept failing: no more attempts; the config stays listed. */
  failing: { since: string; reason: string } | null;
  createdAt: string;
}

// Named in the contracts' access table (STORE_ACCESS), which grants the gateway this stream on a secured bus.
const STREAM_CONTEXT = A2A_PUSH_STREAM;
const SUBJECT_ROOT = A2A_PUSH_SUBJECT_ROOT;
/** Delays before each attempt of one delivery: at least once, with backoff, then the config is failing. */
export const PUSH_RETRY_DELAYS_MS = [0, 200, 400, 800, 1_600, 3_200];
const DELIVERY_TIMEOUT_MS = 5_000;
const A2A_CONTENT_TYPE = 'application/a2a+json';

function token(value: string): string {
  return Buffer.from(value).toString('base64url') || '_';
}

/**
 * Push configs in a JetStream stream (one subject per config, the last message kept): durable,
 * shared by every gateway replica, and no database in the gateway. A task's configs are the
 * subjects under `a2a.push.v1.<task-id>.`.
 */
export class PushConfigStore {
  private ready: Promise<void> | undefined;

  constructor(private readonly bus: MessageBus) {}

  private get stream(): string {
    return this.bus.streamName(STREAM_CONTEXT);
  }

  private subject(taskId: string, id?: string): string {
    return this.bus.subject(`${SUBJECT_ROOT}.${taskId}.${id === undefined ? '*' : token(id)}`);
  }

  /** Creates the stream once (idempotent across replicas; NATS_STREAM_REPLICAS replicas, raised). */
  ensure(): Promise<void> {
    this.ready ??= this.bus
      .ensureStoreStream(STREAM_CONTEXT, [`${SUBJECT_ROOT}.>`], 1)
      .catch((error: unknown) => {
        this.ready = undefined;
        throw error;
      });
    return this.ready;
  }

  async put(stored: StoredPushConfig): Promise<void> {
    await this.ensure();
    await this.bus.js.publish(this.subject(stored.config.taskId, stored.config.id), JSON.stringify(stored));
  }

  async get(taskId: string, id: string): Promise<StoredPushConfig | undefined> {
    await this.ensure();
    try {
      const msg = await this.bus.jsm.streams.getMessage(this.stream, {
        last_by_subj: this.subject(taskId, id),
      });
      return msg ? (msg.json() as StoredPushConfig) : undefined;
    } catch {
      return undefined;
    }
  }

  async list(taskId: string): Promise<StoredPushConfig[]> {
    await this.ensure();
    const info = await this.bus.jsm.streams.info(this.stream, { subjects_filter: this.subject(taskId) });
    const subjects = Object.keys(info.state.subjects ?? {}).sort();
    const found = await Promise.all(
      subjects.map(async (subject) => {
        const msg = await this.bus.jsm.streams
          .getMessage(this.stream, { last_by_subj: subject })
          .catch(() => null);
        return msg ? (msg.json() as StoredPushConfig) : undefined;
      }),
    );
    return found.filter((c): c is StoredPushConfig => c !== undefined);
  }

  async delete(taskId: string, id: string): Promise<void> {
    await this.ensure();
    await this.bus.jsm.streams.purge(this.stream, { filter: this.subject(taskId, id) });
  }
}

function eventBodies(task: MeshTask): string[] {
  return changeEvents(task).map((event) => JSON.stringify(StreamResponse.toJSON(event)));
}

export interface PushMetrics {
  deliveries: Counter<'outcome'>;
  failingConfigs: Counter;
}

/** The outcomes of a push attempt, each counted from zero so the series exists before the first push. */
const PUSH_OUTCOMES = ['delivered', 'failed_attempt', 'refused'] as const;

export function pushMetrics(registry: Registry): PushMetrics {
  const deliveries = new Counter({
    name: 'orgmesh_gateway_a2a_push_deliveries_total',
    help: 'A2A push notification attempts by outcome (delivered, failed_attempt, refused)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of PUSH_OUTCOMES) deliveries.labels(outcome).inc(0);
  return {
    deliveries,
    failingConfigs: new Counter({
      name: 'orgmesh_gateway_a2a_push_configs_failed_total',
      help: 'A2A push configs marked failing after their retries were exhausted',
      registers: [registry],
    }),
  };
}

/**
 * Delivers task changes to push configs: one durable consumer of `mesh.v1.task-updated`, shared by
 * every replica (each change is handled by one of them), one change at a time, so each config sees
 * its task's changes in order. A change is acknowledged only once every config of its task has
 * received it or has been marked failing; a replica that dies mid-way leaves it to be redelivered
 * (at least once: a receiver may see a change twice and dedupes on the task version).
 */
export class PushDispatcher {
  private handle: ConsumerHandle | undefined;

  constructor(
    private readonly bus: MessageBus,
    private readonly store: PushConfigStore,
    private readonly allow: PushAllowList,
    private readonly logger: Logger,
    private readonly metrics: PushMetrics,
    private readonly delaysMs: readonly number[] = PUSH_RETRY_DELAYS_MS,
    /** Between looks for MESH while it does not exist yet; default the bus's (100 ms doubling to 2 s). */
    private readonly waitRetryMs?: number,
  ) {}

  /**
   * Provisions the config stream (refused → throws: no push on this bus) and starts delivery. The
   * MESH stream is the mesh router's to create; where it does not exist yet, delivery waits for it
   * in the background (ConsumeOptions.waitForOwner), as the SSE hub does. The durable it then
   * creates starts at the moment the wait began (less a margin for clock skew with the NATS server),
   * not at new changes: a task that changed between the stream's creation and the durable's is
   * delivered too (ADR 0018, issue 25).
   */
  async start(): Promise<void> {
    await this.store.ensure();
    this.handle = await this.bus.consume(TaskUpdated, 'gateway-a2a-push', (change) => this.deliver(change), {
      deliverPolicy: 'new',
      concurrency: 1,
      waitForOwner: this.waitRetryMs === undefined ? true : { lookEveryMs: this.waitRetryMs },
    });
  }

  async stop(): Promise<void> {
    await this.handle?.stop();
  }

  private async deliver(change: TaskChange): Promise<void> {
    const configs = (await this.store.list(change.task.id)).filter((c) => !c.failing);
    if (!configs.length) return;
    const bodies = eventBodies(change.task);
    for (const stored of configs) await this.deliverTo(stored, bodies);
  }

  /**
   * Pushes a task as it is now to one config. A config given with SendMessage is stored once the
   * task exists, so changes the agent made before that were delivered to no one: the handler hands
   * the task's current state here when it moved meanwhile (a receiver dedupes on the version).
   */
  async catchUp(stored: StoredPushConfig, task: MeshTask): Promise<void> {
    try {
      await this.deliverTo(stored, eventBodies(task));
    } catch (error) {
      this.logger.warn({ err: error, taskId: task.id }, 'a2a push catch-up failed');
    }
  }

  private async deliverTo(stored: StoredPushConfig, bodies: readonly string[]): Promise<void> {
    for (const body of bodies) {
      const failure = await this.post(stored.config, body);
      if (failure) {
        await this.store.put({ ...stored, failing: { since: new Date().toISOString(), reason: failure } });
        this.metrics.failingConfigs.inc();
        // No URL in the log: it may carry the receiver's secrets.
        this.logger.warn(
          { taskId: stored.config.taskId, configId: stored.config.id },
          'a2a push config failing',
        );
        return;
      }
    }
  }

  /** POSTs one event with retries; undefined when delivered, else why it gave up. */
  private async post(config: TaskPushNotificationConfig, body: string): Promise<string | undefined> {
    let last = 'not attempted';
    for (const delay of this.delaysMs) {
      if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
      try {
        // Checked again on every attempt: a name may resolve elsewhere since the config was made.
        const url = await checkCallbackUrl(config.url, this.allow);
        const headers: Record<string, string> = { 'content-type': A2A_CONTENT_TYPE };
        if (config.authentication?.scheme && config.authentication.credentials) {
          headers['authorization'] = `${config.authentication.scheme} ${config.authentication.credentials}`;
        }
        if (config.token) headers['x-a2a-notification-token'] = config.token;
        const res = await fetch(url, {
          method: 'POST',
          headers,
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
        });
        await res.body?.cancel().catch(() => undefined);
        if (res.ok) {
          this.metrics.deliveries.inc({ outcome: 'delivered' });
          return undefined;
        }
        last = `HTTP ${res.status}`;
      } catch (error) {
        if (error instanceof CallbackRefused) {
          this.metrics.deliveries.inc({ outcome: 'refused' });
          return error.message;
        }
        last = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : 'unreachable';
      }
      this.metrics.deliveries.inc({ outcome: 'failed_attempt' });
    }
    return last;
  }
}
