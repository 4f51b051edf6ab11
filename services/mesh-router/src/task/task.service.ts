import { createHash, randomUUID } from 'node:crypto';
import {
  TASK_FAILURE_REASONS,
  inboxSubject,
  roleInboxSubject,
  type ApprovalDecision,
  type RecipientInput,
  type AppError,
  type Task,
  type TaskFsmEvent,
  type TaskKind,
  type TaskPriority,
  type TaskState,
} from '@orgmesh/contracts';
import type { TokenBucketLimiter } from '@orgmesh/telemetry';
import { jsonSize } from '../limits/json-size.js';
import type { EscalationTarget, PolicyPort } from '../policy/policy.port.js';
import { canCancel, canDecide, canSee, canWork, type Caller } from './task.access.js';
import {
  idempotencyKeyReused,
  illegalTaskTransition,
  invalidDeadline,
  notAParty,
  payloadTooLarge,
  rateLimited,
  taskNotFound,
} from './task.errors.js';
import { decodeTaskCursor, encodeTaskCursor } from './task.cursor.js';
import { allowedTaskEvents, eventForReportedState, isTerminalTaskState, taskOutcome } from './task.fsm.js';
import { resolveRecipient } from './task.recipient.js';
import type { ApprovalService } from '../approval/approval.service.js';
import { peopleDecideOnly } from '../approval/approval.errors.js';
import type { ApprovalPlan } from '../approval/approval.planner.js';
import type {
  ChangeMeta,
  IdempotencyClaim,
  JoinedWrites,
  TaskDecisionOutcome,
  TaskRepository,
} from './task.repository.js';
import type { TaskListFilter } from './task.repository.types.js';
import { taskChanges, taskCreate, taskWrite } from './task.changes.js';

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export interface TaskServiceOptions {
  /** Default time to deadline per kind, ms. */
  defaultDeadlineMs: Record<TaskKind, number>;
  maxDeadlineMs: number;
  /** Fraction of an approval's time to deadline after which it escalates. */
  escalateAt: number;
  maxPayloadBytes: number;
}

export interface CreateCommand {
  kind: TaskKind;
  to: RecipientInput;
  type?: string;
  subject?: string;
  input?: unknown;
  details?: unknown;
  message?: string;
  contextId?: string;
  deadline?: string;
  priority: TaskPriority;
  /** An approval's person approver (ADR 0019): a user id, manager-of:<…> or head-of:<role>. */
  approver?: string;
}

export interface UpdateCommand {
  id: string;
  state: 'working' | 'input-required' | 'completed' | 'failed' | 'rejected';
  result?: unknown;
  reason?: string;
}

const SYSTEM = 'system';
const CREATE_OPERATION: Record<TaskKind, string> = {
  task: 'send-task',
  approval: 'request-approval',
  notification: 'notify',
};

/** Mesh rules: who may send what to whom, the task lifecycle, deadlines and escalation. All I/O goes through the ports. */
export class TaskService {
  constructor(
    private readonly repository: TaskRepository,
    private readonly policy: PolicyPort,
    private readonly limiter: TokenBucketLimiter,
    private readonly options: TaskServiceOptions,
    private readonly clock: Clock = systemClock,
    /** Approvals decided by people (src/approval, ADR 0019); absent: every approval is its role's agents'. */
    private readonly approvals?: ApprovalService,
  ) {}

  /**
   * send-task, request-approval and notify. Order matters: size (413) before anything else, a
   * repeated idempotency key answers before the rate limit (retries cost no tokens), then the
   * rate limit (429), then the recipient resolved against the registry (400 when nobody has that
   * id) and the policy for it (403).
   */
  async create(
    caller: Caller,
    command: CreateCommand,
    idempotencyKey?: string,
  ): Promise<{ task: Task; created: boolean }> {
    if (caller.person) throw peopleDecideOnly(`send a ${command.kind}`);
    for (const field of ['input', 'details', 'message'] as const) {
      const bytes = jsonSize(command[field]);
      if (bytes > this.options.maxPayloadBytes)
        throw payloadTooLarge(field, bytes, this.options.maxPayloadBytes);
    }
    const operation = CREATE_OPERATION[command.kind];
    const claim = idempotencyKey ? this.claim(operation, caller, idempotencyKey, command) : undefined;
    if (claim) {
      const first = await this.repository.findIdempotent(claim.operation, claim.actor, claim.key);
      if (first) return { task: this.checkedRepeat(first, claim), created: false };
    }
    const admission = this.limiter.take(caller.agentId);
    if (!admission.allowed) throw rateLimited(caller.agentId, admission.retryAfterMs);

    // Policy, storage and delivery all read this one resolved recipient.
    const { to } = await resolveRecipient(this.policy, caller, command.to, command.kind);
    // Routed to people by the role's rules or the named approver: the route's steps decide, not escalateAt.
    const plan = command.kind === 'approval' ? await this.approvals?.plan(caller, to, command) : undefined;

    const now = this.clock.now();
    const deadline = this.deadlineFor(
      command.kind,
      command.deadline,
      now,
      plan && this.approvals?.durationMs(plan),
    );
    const escalateAt =
      command.kind === 'approval' && !plan
        ? new Date(now.getTime() + Math.round((deadline.getTime() - now.getTime()) * this.options.escalateAt))
        : null;
    const id = randomUUID();
    const write = taskCreate(
      {
        id,
        kind: command.kind,
        from: { agentId: caller.agentId, role: caller.role },
        to,
        type: command.type ?? null,
        subject: command.subject ?? null,
        input: command.input,
        details: command.details,
        message: command.message ?? null,
        priority: command.priority,
        contextId: command.contextId ?? randomUUID(),
        deadline,
        escalateAt,
        now,
      },
      inboxSubject(to),
    );
    const { task, created, fingerprint } = await this.repository.create(
      write,
      claim,
      plan && this.routed(write.task, plan, now),
    );
    if (!created && claim && fingerprint !== claim.fingerprint) throw idempotencyKeyReused(claim.key);
    return { task, created };
  }

  /**
   * What commits with a routed approval (ADR 0019), or nothing of it does: its route and its
   * planning entries (whom it skipped, whom it waits for) with their task-updated events.
   */
  private routed(task: Task, plan: ApprovalPlan, now: Date): JoinedWrites | undefined {
    const approvals = this.approvals;
    if (!approvals) return undefined;
    return {
      rows: (tx) => approvals.insertRoute(tx, task.id, plan),
      changes: taskChanges(task, SYSTEM, approvals.planningEntries(task, plan, now)),
    };
  }

  async get(caller: Caller, id: string, includeHistory = true): Promise<Task> {
    const task = await this.repository.get(id, includeHistory);
    if (!task) throw taskNotFound(id);
    if (!canSee(task, caller)) throw notAParty(id, 'read');
    return task;
  }

  async list(
    caller: Caller,
    // The repository's filter as a caller gives it: the cursor still opaque, visibility from the caller.
    filter: Omit<TaskListFilter, 'cursor' | 'visibleTo'> & { cursor?: string; count?: boolean },
  ): Promise<{ items: Task[]; nextCursor: string | null; total?: number }> {
    const { count, ...rest } = filter;
    const query: TaskListFilter = {
      ...rest,
      cursor: filter.cursor ? decodeTaskCursor(filter.cursor, this.clock.now()) : undefined,
      visibleTo: caller.seesAll ? undefined : { agentId: caller.agentId, role: caller.role },
    };
    // The count reads the same filters and visibility, so it counts exactly what the caller may page through.
    const [items, total] = await Promise.all([
      this.repository.list(query),
      count ? this.repository.count(query) : undefined,
    ]);
    const last = items[items.length - 1];
    const nextCursor = items.length === filter.limit && last ? encodeTaskCursor(last) : null;
    return total === undefined ? { items, nextCursor } : { items, nextCursor, total };
  }

  /** The assigned agent reports progress. Its first report assigns the task to it. */
  async update(caller: Caller, command: UpdateCommand, idempotencyKey?: string): Promise<Task> {
    // Reports that end a task are checked against an approval's route first (one primary-key read).
    if (command.state === 'failed' || command.state === 'rejected')
      await this.approvals?.guardReport(caller, command.id);
    const task = await this.report(caller, command, idempotencyKey);
    // An approval's agent asking for input hands it to the people of its route now (ADR 0019).
    if (command.state === 'input-required') await this.approvals?.handOver(task.id);
    return task;
  }

  private async report(caller: Caller, command: UpdateCommand, idempotencyKey?: string): Promise<Task> {
    const event = eventForReportedState(command.state);
    const { task } = await this.changeAs(
      'update-task',
      caller,
      command,
      idempotencyKey,
      (current): TaskDecisionOutcome => {
        const outcome = taskOutcome(current.kind, current.state, event);
        if (outcome.kind === 'illegal') throw illegalOn(current, event);
        if (outcome.kind === 'noop') return { kind: 'noop' };
        return {
          kind: 'change',
          event,
          to: outcome.to,
          reason: command.reason ?? null,
          patch: {
            assignee: current.assignee ? undefined : { agentId: caller.agentId, role: caller.role },
            result: command.state === 'completed' ? (command.result ?? null) : undefined,
          },
          now: this.clock.now(),
        };
      },
    );
    return task;
  }

  async decide(
    caller: Caller,
    command: { id: string; decision: ApprovalDecision; comment?: string },
    idempotencyKey?: string,
  ): Promise<Task> {
    // Routed to people: decided there (a person's 403/409 too); undefined while its agents may decide.
    const byPeople = await this.approvals?.decide(caller, command, idempotencyKey);
    if (byPeople) return byPeople;
    const { task, changed } = await this.changeAs(
      'decide',
      caller,
      command,
      idempotencyKey,
      (current): TaskDecisionOutcome => {
        const to = movedTo(current, 'decide');
        const now = this.clock.now();
        const comment = command.comment ?? null;
        return {
          kind: 'change',
          event: 'decide',
          to,
          reason: comment ? `${command.decision}: ${comment}` : command.decision,
          patch: {
            assignee: current.assignee ? undefined : { agentId: caller.agentId, role: caller.role },
            decision: {
              decision: command.decision,
              comment,
              decidedBy: { agentId: caller.agentId, role: caller.role },
              decidedAt: now.toISOString(),
            },
            result: { decision: command.decision, comment },
          },
          now,
        };
      },
    );
    if (changed) await this.approvals?.decidedByAgent(task.id);
    return task;
  }

  async cancel(
    caller: Caller,
    command: { id: string; reason?: string },
    idempotencyKey?: string,
  ): Promise<Task> {
    const { task } = await this.changeAs(
      'cancel',
      caller,
      command,
      idempotencyKey,
      (current): TaskDecisionOutcome => ({
        kind: 'change',
        event: 'cancel',
        to: movedTo(current, 'cancel'),
        reason: command.reason ?? null,
        patch: {},
        now: this.clock.now(),
      }),
    );
    return task;
  }

  /** Times out an open task (deadline job); false when it ended meanwhile. */
  async expire(id: string): Promise<boolean> {
    const { changed } = await this.apply(id, { actor: SYSTEM }, (current): TaskDecisionOutcome => {
      if (isTerminalTaskState(current.state) || new Date(current.deadline) > this.clock.now())
        return { kind: 'noop' };
      const outcome = taskOutcome(current.kind, current.state, 'expire');
      if (outcome.kind !== 'move') return { kind: 'noop' };
      return {
        kind: 'change',
        event: 'expire',
        to: outcome.to,
        reason: TASK_FAILURE_REASONS.deadlineExceeded,
        patch: {},
        now: this.clock.now(),
      };
    });
    return changed;
  }

  /**
   * Escalates an undecided approval once to the approver's manager from the org chart: the task
   * is delivered to the manager's role inbox too, and the manager may decide it. Without a manager
   * the escalation is recorded as attempted, so it is not retried every tick.
   */
  async escalate(id: string): Promise<EscalationTarget | null | undefined> {
    const task = await this.repository.get(id, false);
    if (!task || task.kind !== 'approval' || isTerminalTaskState(task.state) || task.escalatedAt)
      return undefined;
    const target = await this.policy.managerOf({
      role: task.to.role,
      agentId: task.to.agentId ?? task.assignee?.agentId ?? null,
    });
    const { changed } = await this.apply(id, { actor: SYSTEM }, (current): TaskDecisionOutcome => {
      if (isTerminalTaskState(current.state) || current.escalatedAt) return { kind: 'noop' };
      return {
        kind: 'change',
        event: 'escalate',
        to: current.state,
        reason: target ? `escalated to ${target.userId} (${target.role})` : 'no manager to escalate to',
        patch: { escalatedTo: target, escalatedAt: this.clock.now() },
        deliverTo: target ? roleInboxSubject(target.role) : undefined,
        now: this.clock.now(),
      };
    });
    return changed ? target : undefined;
  }

  /**
   * A delivery that exhausted its attempts: a task still waiting for someone to take it fails as
   * `undeliverable`. One already taken (the agent got it and crashed while acknowledging) is left
   * to its agent and its deadline.
   */
  async markUndeliverable(id: string): Promise<boolean> {
    const { changed } = await this.apply(id, { actor: SYSTEM }, (current): TaskDecisionOutcome => {
      if (current.state !== 'submitted') return { kind: 'noop' };
      return {
        kind: 'change',
        event: 'fail',
        to: 'failed',
        reason: TASK_FAILURE_REASONS.undeliverable,
        patch: {},
        now: this.clock.now(),
      };
    });
    return changed;
  }

  /**
   * Applies a command through the repository: `decide` is the domain's outcome on the current
   * task; the next task and the events the change emits are settled here (task.changes.ts), and
   * the repository writes them as they are.
   */
  private apply(id: string, meta: ChangeMeta, decide: (current: Task) => TaskDecisionOutcome) {
    return this.repository.apply(id, meta, (current) => taskWrite(current, meta.actor, decide(current)));
  }

  /** Ids of tasks the deadline job must escalate / expire now. */
  dueForEscalation(batch: number): Promise<string[]> {
    return this.repository.dueForEscalation(this.clock.now(), batch);
  }

  dueForExpiry(batch: number): Promise<string[]> {
    return this.repository.dueForExpiry(this.clock.now(), batch);
  }

  /** Outcome of a change decided outside this class (src/approval), written through the same path. */
  applyOutcome(
    id: string,
    actor: string,
    decide: (current: Task) => TaskDecisionOutcome,
  ): Promise<{ task: Task }> {
    return this.apply(id, { actor }, decide);
  }

  /**
   * `routeMs`: an approval routed to people needs at least its steps' time (plus a minute, so the
   * route's own end decides it, not the expiry), within the maximum.
   */
  private deadlineFor(kind: TaskKind, requested: string | undefined, now: Date, routeMs?: number): Date {
    const deadline = this.requestedDeadline(kind, requested, now);
    if (routeMs === undefined) return deadline;
    const needed = Math.min(now.getTime() + routeMs + 60_000, now.getTime() + this.options.maxDeadlineMs);
    return new Date(Math.max(deadline.getTime(), needed));
  }

  private requestedDeadline(kind: TaskKind, requested: string | undefined, now: Date): Date {
    if (requested === undefined) return new Date(now.getTime() + this.options.defaultDeadlineMs[kind]);
    const deadline = new Date(requested);
    if (deadline.getTime() <= now.getTime()) throw invalidDeadline('deadline must be in the future');
    if (deadline.getTime() - now.getTime() > this.options.maxDeadlineMs) {
      throw invalidDeadline(
        `deadline must be within ${Math.round(this.options.maxDeadlineMs / 3_600_000)} h from now`,
      );
    }
    return deadline;
  }

  private claim(operation: string, caller: Caller, key: string, request: unknown): IdempotencyClaim {
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([operation, request]))
      .digest('base64url');
    return { operation, actor: caller.agentId, key, fingerprint };
  }

  private checkedRepeat(first: { fingerprint: string; response: Task }, claim: IdempotencyClaim): Task {
    if (first.fingerprint !== claim.fingerprint) throw idempotencyKeyReused(claim.key);
    return first.response;
  }

  /**
   * A caller's change of one task (report, decide, cancel): claimed under its idempotency key,
   * refused unless the caller is a party to it (PARTIES), decided on the current row, and a repeat
   * of the key with other content refused.
   */
  private async changeAs(
    operation: keyof typeof PARTIES,
    caller: Caller,
    command: { id: string },
    idempotencyKey: string | undefined,
    decide: (current: Task) => TaskDecisionOutcome,
  ): Promise<{ task: Task; changed: boolean }> {
    const claim = idempotencyKey ? this.claim(operation, caller, idempotencyKey, command) : undefined;
    const party = PARTIES[operation];
    const { task, changed, fingerprint } = await this.apply(
      command.id,
      { actor: caller.agentId, idempotency: claim },
      (current) => {
        if (!party.may(current, caller)) throw notAParty(current.id, party.refused);
        return decide(current);
      },
    );
    if (!changed && claim && fingerprint !== undefined && fingerprint !== claim.fingerprint)
      throw idempotencyKeyReused(claim.key);
    return { task, changed };
  }
}

/** Who may make each change of a task, and what the refusal says they may not do. */
const PARTIES = {
  'update-task': { may: canWork, refused: 'update' },
  decide: { may: canDecide, refused: 'decide' },
  cancel: { may: canCancel, refused: 'cancel' },
} as const;

/** The state `event` moves the task to; task_illegal_transition when it does not move it (a no-op included). */
function movedTo(task: Task, event: TaskFsmEvent): TaskState {
  const outcome = taskOutcome(task.kind, task.state, event);
  if (outcome.kind !== 'move') throw illegalOn(task, event);
  return outcome.to;
}

/** task_illegal_transition for `event` on the task as it is, naming the events it accepts now. */
function illegalOn(task: Pick<Task, 'id' | 'kind' | 'state'>, event: TaskFsmEvent): AppError {
  return illegalTaskTransition(
    task.id,
    task.kind,
    task.state,
    event,
    allowedTaskEvents(task.kind, task.state),
  );
}
