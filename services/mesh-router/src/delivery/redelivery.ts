import {
  InboxDelivery,
  MESH_INBOX_STREAM,
  agentInboxDurable,
  inboxSubject,
  parseOrThrow,
  roleInboxDurable,
} from '@orgmesh/contracts';
import { injectTraceContext, type MessageBus } from '@orgmesh/messaging';
import type { Database } from '@orgmesh/persistence';
import { ServiceJobs } from '@orgmesh/service-host';
import type { Logger } from '@orgmesh/telemetry';
import type { TaskRow } from '../task/task.entity.js';
import { toTask } from '../task/task.mapper.js';
import type { TaskMetrics } from '../task/task.metrics.js';

export interface RedeliveryOptions {
  /** A task still `submitted` this long after it was created (or after its last copy) is published again. */
  afterMs: number;
  /** Copies the stream stored, per task, at most; 0 turns the sweep off. */
  maxAttempts: number;
  /** Tasks per run. */
  batchSize: number;
  intervalMs: number;
  /** The service clock: task rows carry its timestamps, so tests' manual clocks age them. */
  now: () => Date;
}

export interface RedeliveryRun {
  /** False when another replica holds the job's lock: this run published nothing. */
  ran: boolean;
  published: number;
  duplicate: number;
  failed: number;
}

export const REDELIVERY_LOCK = 'mesh-job-redeliver';

/**
 * The tasks due (`$1` cutoff, `$2` max attempts, `$3` batch size): the partial index
 * tasks_submitted_created_idx gives the never-taken tasks oldest first; a task copied recently, or
 * as often as allowed, is passed over (one primary-key lookup each). The plan test checks the index.
 */
export const DUE_FOR_REDELIVERY = `SELECT t.*, COALESCE((SELECT r.attempts FROM mesh.task_redeliveries r WHERE r.task_id = t.id), 0) AS redeliveries
  FROM mesh.tasks t
  WHERE t.state = 'submitted' AND t.created_at < $1
    AND NOT EXISTS (SELECT 1 FROM mesh.task_redeliveries r
                     WHERE r.task_id = t.id AND (r.attempts >= $2 OR r.last_at >= $1))
  ORDER BY t.created_at LIMIT $3`;

/**
 * What is acknowledged is never lost (issue #21): the outbox marks an inbox delivery published
 * once JetStream acknowledged it, but a JetStream cluster that resets a stream's state after its
 * leader dies (nats-server 2.9, `Resetting stream cluster state`) loses acknowledged messages, and
 * the task then stays `submitted` forever. This sweep publishes the inbox delivery of every task
 * still `submitted` after `afterMs` again, under the same message id as the first (the task id,
 * see TaskRepository.create): while the original is still in the stream the stream drops the copy
 * (`duplicate`, inside its duplicate window) and the sweep tries again `afterMs` later; once the
 * window has passed, or when the original is gone (see republish), a copy is stored. A task is copied at most `maxAttempts` times, so one whose agent is
 * merely offline gets a bounded number of extra messages; its agent drops the extras (it remembers
 * the tasks it handled, and a task taken by another instance refuses its report). The copy carries
 * the task as it is now. Runs on one replica at a time, under a Postgres advisory lock.
 */
export class RedeliverySweep {
  private readonly jobs: ServiceJobs;

  constructor(
    private readonly db: Pick<Database, 'withAdvisoryLock'>,
    private readonly bus: Pick<MessageBus, 'publishRaw' | 'jsm' | 'streamName' | 'durableName'>,
    private readonly metrics: TaskMetrics,
    private readonly logger: Logger,
    private readonly options: RedeliveryOptions,
  ) {
    if (options.batchSize < 1) throw new Error('re-delivery batch size must be positive');
    this.jobs = new ServiceJobs({ logger, jobRuns: metrics.jobRuns, failureMessage: 'mesh job failed' });
  }

  start(): void {
    if (this.options.maxAttempts <= 0 || this.options.afterMs <= 0) return;
    this.jobs.every('redeliver', this.options.intervalMs, () => this.runOnce());
  }

  stop(): Promise<void> {
    return this.jobs.stop();
  }

  /** One run: at most `batchSize` tasks, oldest first. */
  async runOnce(): Promise<RedeliveryRun> {
    const now = this.options.now();
    const cutoff = new Date(now.getTime() - this.options.afterMs);
    const { ran, result } = await this.db.withAdvisoryLock(REDELIVERY_LOCK, async (tx) => {
      const { rows } = await tx.query<TaskRow & { redeliveries: number }>(DUE_FOR_REDELIVERY, [
        cutoff,
        this.options.maxAttempts,
        this.options.batchSize,
      ]);
      const outcomes = await Promise.all(rows.map((row) => this.republish(row)));
      const run: RedeliveryRun = { ran: true, published: 0, duplicate: 0, failed: 0 };
      const copied: string[] = [];
      const dropped: string[] = [];
      rows.forEach((row, i) => {
        const outcome = outcomes[i]!;
        run[outcome]++;
        if (outcome === 'published') copied.push(row.id);
        if (outcome === 'duplicate') dropped.push(row.id);
      });
      // A failed publish leaves no trace: the next run tries again.
      if (copied.length || dropped.length)
        await tx.query(
          `INSERT INTO mesh.task_redeliveries (task_id, attempts, last_at)
           SELECT id, 1, $3::timestamptz FROM unnest($1::uuid[]) AS id
           UNION ALL SELECT id, 0, $3::timestamptz FROM unnest($2::uuid[]) AS id
         ON CONFLICT (task_id) DO UPDATE
           SET attempts = mesh.task_redeliveries.attempts + EXCLUDED.attempts, last_at = EXCLUDED.last_at`,
          [copied, dropped, now],
        );
      return run;
    });
    this.jobs.recordRun('redeliver', ran);
    if (!ran || !result) return { ran: false, published: 0, duplicate: 0, failed: 0 };
    for (const key of ['published', 'duplicate', 'failed'] as const) {
      if (result[key]) this.metrics.redeliveries.inc({ result: key }, result[key]);
    }
    if (result.published || result.failed)
      this.logger.info({ job: 'redeliver', ...result }, 'inbox re-delivery finished');
    return result;
  }

  /**
   * Publishes the task's delivery under its first message id. A `duplicate` answer only says the
   * stream remembers the id: its ack names the sequence the id was stored at, and if no message with
   * that id is there any more while the task is still `submitted` (lost with its id record kept: a
   * purge, some stream resets), or it is there but behind its consumer's ack floor (stranded), a
   * copy goes out under `<task id>:<n>`, the
   * n-th copy, so a run repeated after a failure to record it is still dropped by the stream.
   */
  private async republish(
    row: TaskRow & { redeliveries: number },
  ): Promise<'published' | 'duplicate' | 'failed'> {
    const subject = inboxSubject({ role: row.to_role, agentId: row.to_agent_id });
    try {
      const body = parseOrThrow(InboxDelivery.schema, toTask(row), `${InboxDelivery.subject} payload`);
      const data = new TextEncoder().encode(JSON.stringify(body));
      const ack = await this.bus.publishRaw(subject, data, {
        eventId: row.id,
        headers: injectTraceContext({}),
      });
      if (!ack.duplicate) return 'published';
      if (await this.holds(ack.seq, row.id, row)) return 'duplicate';
      const copy = await this.bus.publishRaw(subject, data, {
        eventId: `${row.id}:${Number(row.redeliveries) + 1}`,
        headers: injectTraceContext({}),
      });
      return copy.duplicate ? 'duplicate' : 'published';
    } catch (error) {
      this.logger.warn({ taskId: row.id, err: error }, 'inbox re-delivery failed');
      return 'failed';
    }
  }

  /**
   * Whether the inbox stream still holds the message `messageId` at `seq` (a reset may reuse
   * sequences) where its consumer will still deliver it: the chaos run also saw a durable consumer
   * come back from a reset with its ack floor past messages it never delivered, which then stay in
   * the stream and never reach an agent. No consumer yet: it will start from the first message.
   */
  private async holds(seq: number, messageId: string, row: TaskRow): Promise<boolean> {
    const stream = this.bus.streamName(MESH_INBOX_STREAM);
    const stored = await this.bus.jsm.streams.getMessage(stream, { seq });
    if (stored?.header?.get('Nats-Msg-Id') !== messageId) return false;
    const durable = this.bus.durableName(
      row.to_agent_id ? agentInboxDurable(row.to_agent_id) : roleInboxDurable(row.to_role),
    );
    const consumer = await this.bus.jsm.consumers.info(stream, durable).catch(() => undefined);
    return !consumer || consumer.ack_floor.stream_seq < seq;
  }
}
