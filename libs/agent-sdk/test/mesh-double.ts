import { randomUUID } from 'node:crypto';
import type { Subscription } from '@nats-io/nats-core';
import { decodeJwt } from 'jose';
import {
  AgentHeartbeat,
  AppError,
  Decide,
  GetTask,
  HEADERS,
  ListTasks,
  MESH_EVENT_SUBJECTS,
  MESH_INBOX_STREAM,
  MESH_INBOX_SUBJECTS,
  Notify,
  RequestApproval,
  SendTask,
  TaskUpdated,
  UpdateTask,
  agentUpdatesSubject,
  inboxSubject,
  type Task,
} from '@orgmesh/contracts';
import type { MessageBus, MessageContext } from '@orgmesh/messaging';

/** One RPC the double answered: which, with which headers (lower-cased) and payload. */
export interface RecordedCall {
  subject: string;
  agentId: string;
  headers: Record<string, string>;
  payload: Record<string, unknown>;
}

/**
 * The mesh router's side of the wire contract, in memory: enough to drive the SDK in isolation
 * (creates deliver to the inbox work queue; updates and decisions change the task and publish
 * task-updated, repeated on the sender's `mesh.v1.updates.<agentId>`; idempotency keys return the first answer). The real mesh router is exercised by
 * the e2e test; this double checks what the SDK puts on the wire.
 */
export class MeshDouble {
  readonly tasks = new Map<string, Task>();
  readonly calls: RecordedCall[] = [];
  readonly heartbeats: RecordedCall[] = [];
  private readonly idempotent = new Map<string, Task>();
  private readonly subs: Subscription[] = [];

  constructor(private readonly bus: MessageBus) {}

  async start(): Promise<this> {
    await this.bus.ensureStream('mesh', { subjects: [...MESH_EVENT_SUBJECTS] });
    await this.bus.ensureWorkQueue(MESH_INBOX_STREAM, [...MESH_INBOX_SUBJECTS]);
    const create = (kind: Task['kind']) => async (payload: Record<string, unknown>, ctx: MessageContext) => {
      const caller = this.record(
        kind === 'task' ? SendTask.subject : kind === 'approval' ? RequestApproval.subject : Notify.subject,
        payload,
        ctx,
      );
      return this.once(ctx, () => this.deliver(this.newTask(kind, caller, payload)));
    };
    this.subs.push(
      this.bus.serve(SendTask, create('task') as never, { queue: 'mesh-router' }),
      this.bus.serve(RequestApproval, create('approval') as never, { queue: 'mesh-router' }),
      this.bus.serve(Notify, create('notification') as never, { queue: 'mesh-router' }),
      this.bus.serve(
        GetTask,
        async (payload, ctx) => {
          this.record(GetTask.subject, payload, ctx);
          return this.get(payload.id);
        },
        { queue: 'mesh-router' },
      ),
      this.bus.serve(
        ListTasks,
        async (payload, ctx) => {
          this.record(ListTasks.subject, payload, ctx);
          return { items: [...this.tasks.values()], nextCursor: null };
        },
        { queue: 'mesh-router' },
      ),
      this.bus.serve(
        UpdateTask,
        async (payload, ctx) => {
          const caller = this.record(UpdateTask.subject, payload, ctx);
          return this.once(ctx, () =>
            this.change(payload.id, caller, {
              state: payload.state,
              ...(payload.state === 'completed'
                ? { result: (payload.result ?? null) as Task['result'] }
                : {}),
              ...(payload.reason ? { reason: payload.reason } : {}),
            }),
          );
        },
        { queue: 'mesh-router' },
      ),
      this.bus.serve(
        Decide,
        async (payload, ctx) => {
          const caller = this.record(Decide.subject, payload, ctx);
          return this.once(ctx, () =>
            this.change(payload.id, caller, {
              state: 'completed',
              result: { decision: payload.decision, comment: payload.comment ?? null },
              decision: {
                decision: payload.decision,
                comment: payload.comment ?? null,
                decidedBy: caller,
                decidedAt: new Date().toISOString(),
              },
            }),
          );
        },
        { queue: 'mesh-router' },
      ),
      this.bus.serve(
        AgentHeartbeat,
        async (payload, ctx) => {
          this.heartbeats.push({
            subject: AgentHeartbeat.subject,
            agentId: callerOf(ctx).agentId,
            headers: ctx.headers,
            payload,
          });
          return {
            online: true as const,
            drift: payload.configHash !== EXPECTED_HASH,
            timeoutMs: 60_000,
            receivedAt: new Date().toISOString(),
          };
        },
        { queue: 'registry' },
      ),
    );
    return this;
  }

  stop(): void {
    for (const sub of this.subs.splice(0)) sub.unsubscribe();
  }

  callsTo(subject: string): RecordedCall[] {
    return this.calls.filter((c) => c.subject === subject);
  }

  /** A task from someone else, delivered to its inbox (what the mesh does on a create). */
  async deliverNew(
    kind: Task['kind'],
    from: { agentId: string; role: string },
    payload: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<Task> {
    return this.deliver(this.newTask(kind, from, payload), headers);
  }

  /** Publishes the task to its inbox again, as another message (a duplicate or an escalation copy). */
  async redeliver(id: string, msgId = randomUUID()): Promise<void> {
    const task = this.get(id);
    await this.bus.publishRaw(inboxSubject(task.to), new TextEncoder().encode(JSON.stringify(task)), {
      eventId: msgId,
    });
  }

  /**
   * The sender gives an open task more input (AddTaskInput): the input is replaced, an input-required
   * task is working again, and the task goes again to whoever works on it (assignee, else recipient).
   * Resolves to the task as delivered.
   */
  async addInput(id: string, input: Task['input']): Promise<Task> {
    const current = this.get(id);
    const task: Task = {
      ...current,
      input,
      state: current.state === 'input-required' ? 'working' : current.state,
      version: current.version + 1,
      updatedAt: new Date().toISOString(),
    };
    this.tasks.set(id, task);
    const worker = current.assignee
      ? { role: current.assignee.role, agentId: current.assignee.agentId }
      : current.to;
    await this.bus.publishRaw(inboxSubject(worker), new TextEncoder().encode(JSON.stringify(task)), {
      eventId: randomUUID(),
    });
    return task;
  }

  /** Publishes exactly this delivery again (another message, the same turn): at-least-once delivery. */
  async resend(delivered: Task): Promise<void> {
    const worker =
      delivered.version > 1 && delivered.assignee
        ? { role: delivered.assignee.role, agentId: delivered.assignee.agentId }
        : delivered.to;
    await this.bus.publishRaw(inboxSubject(worker), new TextEncoder().encode(JSON.stringify(delivered)), {
      eventId: randomUUID(),
    });
  }

  get(id: string): Task {
    const task = this.tasks.get(id);
    if (!task) throw new AppError('task_not_found', `task ${id} not found`);
    return task;
  }

  private async deliver(task: Task, headers: Record<string, string> = {}): Promise<Task> {
    this.tasks.set(task.id, task);
    await this.bus.publishRaw(inboxSubject(task.to), new TextEncoder().encode(JSON.stringify(task)), {
      eventId: randomUUID(),
      headers,
    });
    return task;
  }

  private newTask(
    kind: Task['kind'],
    from: { agentId: string; role: string },
    payload: Record<string, unknown>,
  ): Task {
    const to =
      typeof payload['to'] === 'string'
        ? { role: payload['to'], agentId: null }
        : { agentId: null, ...(payload['to'] as { role: string; agentId?: string }) };
    const now = new Date().toISOString();
    return {
      id: randomUUID(),
      kind,
      from,
      to: { role: to.role, agentId: to.agentId ?? null },
      assignee: null,
      type: (payload['type'] as string | undefined) ?? null,
      subject: (payload['subject'] as string | undefined) ?? null,
      input: (payload['input'] as Task['input'] | undefined) ?? null,
      details: (payload['details'] as Task['details'] | undefined) ?? null,
      message: (payload['message'] as string | undefined) ?? null,
      priority: 'normal',
      state: 'submitted',
      reason: null,
      contextId: (payload['contextId'] as string | undefined) ?? randomUUID(),
      deadline: new Date(Date.now() + 3_600_000).toISOString(),
      escalateAt: null,
      result: null,
      decision: null,
      escalatedTo: null,
      escalatedAt: null,
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
  }

  private async change(
    id: string,
    caller: { agentId: string; role: string },
    patch: Partial<Task>,
  ): Promise<Task> {
    const current = this.get(id);
    if (['completed', 'failed', 'canceled', 'rejected'].includes(current.state)) {
      throw new AppError('task_illegal_transition', `task ${id} is ${current.state}`);
    }
    const task: Task = {
      ...current,
      ...patch,
      assignee: current.assignee ?? caller,
      version: current.version + 1,
      updatedAt: new Date().toISOString(),
    };
    this.tasks.set(id, task);
    const change = {
      task,
      change: {
        event: 'start' as const,
        from: current.state,
        to: task.state,
        actor: caller.agentId,
        reason: null,
        occurredAt: task.updatedAt,
      },
    };
    await this.bus.publish(TaskUpdated, change, { eventId: randomUUID() });
    // As the router does (SenderUpdates): the copy on the sender's own subject is what the SDK hears.
    const own = agentUpdatesSubject(task.from.agentId);
    if (own) this.bus.nc.publish(this.bus.subject(own), JSON.stringify(change));
    return task;
  }

  private async once(ctx: MessageContext, work: () => Promise<Task>): Promise<Task> {
    const key = ctx.idempotencyKey;
    if (key && this.idempotent.has(key)) return this.idempotent.get(key)!;
    const task = await work();
    if (key) this.idempotent.set(key, task);
    return task;
  }

  private record(
    subject: string,
    payload: Record<string, unknown>,
    ctx: MessageContext,
  ): { agentId: string; role: string } {
    const caller = callerOf(ctx);
    this.calls.push({ subject, agentId: caller.agentId, headers: ctx.headers, payload });
    return caller;
  }
}

export const EXPECTED_HASH = `sha256:${'a'.repeat(64)}`;

function callerOf(ctx: MessageContext): { agentId: string; role: string } {
  const raw = ctx.headers[HEADERS.authorization]?.replace(/^Bearer /, '');
  if (!raw) throw new AppError('unauthenticated', 'no token');
  const claims = decodeJwt(raw);
  return { agentId: String(claims.sub), role: String(claims['role']) };
}

/** An unsigned JWT: the double reads the identity, it does not verify (the real services do). */
export function unsignedJwt(sub: string, role: string): string {
  return `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub, role, exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url')}.`;
}
