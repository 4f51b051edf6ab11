import {
  type ApprovalDecision,
  type ApprovalPerson,
  type ApprovalStep,
  type PersonApproval,
  type PersonApprovalView,
  type PersonDecision,
  type Task,
  type TaskRecipient,
  personApprovalCursor,
} from '@orgmesh/contracts';
import type { Sql } from '@orgmesh/persistence';
import type { Logger } from '@orgmesh/telemetry';
import type { Caller } from '../task/task.access.js';
import { isTerminalTaskState } from '../task/task.fsm.js';
import { toTask } from '../task/task.mapper.js';
import type { TaskDecisionOutcome } from '../task/task.repository.types.js';
import { taskNotFound } from '../task/task.errors.js';
import { planApproval, planDurationMs, type ApprovalPlan } from './approval.planner.js';
import { auditEntry, describe } from './approval.entries.js';
import type { ApprovalRepository, ApprovalRoute, RouteOutcome } from './approval.repository.js';
import { alreadyDecided, approvalEnded, notYourApproval, peopleDecideOnly } from './approval.errors.js';
import type { OrgChartPort } from './org-chart.port.js';

const SYSTEM = 'system';

/**
 * The task side approvals write through: the task service's own change path (the FSM's outcome
 * written with its history entry and event), so a person's decision is a task change like any other.
 */
export interface ApprovalTaskPort {
  get(id: string): Promise<Task | undefined>;
  applyOutcome(
    id: string,
    actor: string,
    decide: (current: Task) => TaskDecisionOutcome,
  ): Promise<{ task: Task }>;
}
/** How long before the approval's own deadline its route must have ended (the expiry job's tick is 1 s). */
const STEP_MARGIN_MS = 30_000;

/**
 * Approvals decided by people of the org chart (ADR 0019): routes an approval by the addressed
 * role's rules (or the approver the agent named), records every person's decision, applies the
 * outcome to the task through the task repository (so the event, the history and the requester's
 * resumed session work as for an agent's decision), and moves undecided steps up the reporting
 * line when their deadline passes (the sweep reads the deadlines from Postgres).
 */
export class ApprovalService {
  constructor(
    private readonly routes: ApprovalRepository,
    private readonly tasks: ApprovalTaskPort,
    private readonly org: OrgChartPort,
    private readonly logger: Logger,
    private readonly now: () => Date,
  ) {}

  /** The route of a new approval, or undefined when its role's agents decide it as before. */
  plan(
    caller: Caller,
    to: TaskRecipient,
    command: { details?: unknown; approver?: string },
  ): Promise<ApprovalPlan | undefined> {
    return planApproval(this.org, {
      requester: { agentId: caller.agentId, role: caller.role },
      toRole: to.role,
      details: command.details,
      approver: command.approver,
    });
  }

  durationMs(plan: ApprovalPlan): number {
    return planDurationMs(plan);
  }

  /**
   * Writes the route of a new approval in `tx`, the transaction that inserts its task and the
   * task's events (TaskRepository.create's `joined`): task, route and task-created commit
   * together or not at all, so no approval exists that its agents would decide as before.
   */
  async insertRoute(tx: Sql, taskId: string, plan: ApprovalPlan): Promise<void> {
    const now = this.now();
    const first = plan.steps[0];
    // A first step nobody can take (everyone named left the org) is due at once: the sweep moves on.
    const stepMs = first && (first.kind === 'agent' || first.approvers.length > 0) ? first.deadlineMs : 0;
    await this.routes.insertRoute(
      {
        taskId,
        rule: plan.rule,
        steps: plan.steps,
        step: 0,
        stepDeadline: new Date(now.getTime() + stepMs),
        status: 'open',
      },
      now,
      tx,
    );
  }

  /**
   * The history entries of a new approval's plan, decided here and written by the task's create in
   * the transaction of the task and its route (ADR 0019): each person it had to skip, then whom it
   * waits for. `task` is the approval as created.
   */
  planningEntries(task: Task, plan: ApprovalPlan, now: Date): TaskDecisionOutcome[] {
    const first = plan.steps[0];
    const entries = plan.skipped.map((skip) =>
      auditEntry(task, `skipped ${skip.spec}: ${skip.why} (rule: ${plan.rule})`, now),
    );
    const person = first?.kind === 'people' ? first.approvers[0] : undefined;
    if (first && person)
      entries.push(
        auditEntry(task, `awaiting ${describe(first.approvers)} (rule: ${plan.rule})`, now, person),
      );
    return entries;
  }

  /**
   * A decision on an approval. Undefined: not routed to people (or waiting for its agents), the
   * task service decides as before. A person decides only as one of the waiting step's people or
   * as the delegate of one: 403 otherwise, 409 for a second decision.
   */
  async decide(
    caller: Caller,
    command: { id: string; decision: ApprovalDecision; comment?: string },
    idempotencyKey?: string,
  ): Promise<Task | undefined> {
    const route = await this.routes.route(command.id);
    if (!route) {
      if (!caller.person) return undefined;
      const task = await this.tasks.get(command.id);
      if (!task) throw taskNotFound(command.id);
      throw notYourApproval(command.id, 'none', caller.agentId, 'it is decided by agents, not people');
    }
    const waiting = route.steps[route.step];
    if (!caller.person) {
      if (route.status === 'open' && waiting?.kind === 'agent') return undefined;
      throw notYourApproval(command.id, route.rule, caller.agentId, 'people of the org chart decide it now');
    }
    // A token can outlive a person's place in the org chart: who left decides nothing.
    const me = await this.org.person(caller.agentId);
    if (!me) throw notYourApproval(command.id, route.rule, caller.agentId, 'they are not in the org chart');
    const taskNow = await this.tasks.get(command.id);
    const outcome = await this.routes.transaction((tx) =>
      this.recordDecision(tx, caller, me.role, command, route, taskNow, idempotencyKey),
    );
    if (outcome && typeof outcome === 'object' && 'ended' in outcome)
      throw approvalEnded(command.id, route.rule, outcome.ended);
    if (outcome && outcome !== 'repeat') return this.finalize(command.id, route.rule, outcome);
    const task = await this.tasks.get(command.id);
    if (!task) throw taskNotFound(command.id);
    return task;
  }

  /**
   * The decision's transaction, on the route as it is now (locked): a retry, a second decision, an
   * ended route or a caller not standing for anyone of the waiting step are told apart here, the
   * person's decision is recorded, and the route is decided once its step's quorum is settled.
   * Returns the route's outcome (undefined while the step still waits), 'repeat' for a retry, or
   * the task's terminal state when the approval ended meanwhile.
   */
  private async recordDecision(
    tx: Sql,
    caller: Caller,
    role: string,
    command: { id: string; decision: ApprovalDecision; comment?: string },
    route: ApprovalRoute,
    taskNow: Task | undefined,
    idempotencyKey: string | undefined,
  ): Promise<RouteOutcome | 'repeat' | { ended: Task['state'] } | undefined> {
    const current = (await this.routes.route(command.id, tx, true)) ?? route;
    const decisions = (await this.routes.decisionsByTask([command.id], tx)).get(command.id) ?? [];
    const mine = decisions.find((d) => d.userId === caller.agentId);
    // A retry (same Idempotency-Key header sent again, same decision and comment) gets the approval as it is now.
    if (
      mine &&
      idempotencyKey &&
      mine.decision === command.decision &&
      mine.comment === (command.comment ?? null)
    )
      return 'repeat' as const;
    if (mine) throw alreadyDecided(command.id, mine);
    if (current.status !== 'open') throw approvalEnded(command.id, current.rule, current.status);
    // Canceled or expired meanwhile: its route ends with it, and no decision is recorded.
    if (taskNow && isTerminalTaskState(taskNow.state)) {
      await this.routes.updateRoute(tx, command.id, { status: 'ended' }, this.now());
      return { ended: taskNow.state };
    }
    const step = current.steps[current.step];
    if (!step || step.kind !== 'people')
      throw notYourApproval(command.id, current.rule, caller.agentId, 'its agents decide it now');
    const now = this.now();
    const forWhom = await this.standingFor(caller.agentId, step, now, tx);
    if (!forWhom)
      throw notYourApproval(
        command.id,
        current.rule,
        caller.agentId,
        `it waits for ${describe(step.approvers)}, and none of them delegated to you`,
      );
    const earlier = decisions.find((d) => (d.onBehalfOf ?? d.userId) === forWhom && d.step === current.step);
    if (earlier) throw alreadyDecided(command.id, earlier);
    const decision: PersonDecision = {
      userId: caller.agentId,
      onBehalfOf: forWhom === caller.agentId ? null : forWhom,
      step: current.step,
      decision: command.decision,
      comment: command.comment ?? null,
      rule: current.rule,
      decidedAt: now.toISOString(),
    };
    await this.routes.insertDecision(tx, command.id, decision);
    const result = stepOutcome(step, [...decisions, decision], decision, role);
    if (result) await this.routes.updateRoute(tx, command.id, { status: 'decided', outcome: result }, now);
    return result;
  }

  /**
   * The addressed agent reported `input-required` while its step waited: it asks for a person, so
   * the route moves on to its people now instead of at the step's deadline (the demo's `--human`
   * mode; A2A's input-required is the human-in-the-loop state).
   */
  async handOver(taskId: string): Promise<void> {
    const route = await this.routes.route(taskId);
    if (route?.status !== 'open' || route.steps[route.step]?.kind !== 'agent') return;
    await this.advance(taskId, 'its agent asked for a person');
  }

  /**
   * An agent ending an approval by a report (`failed`, `rejected`) while people decide it would be a
   * decision by the back door: refused, naming the rule. While its agents decide, it may.
   */
  async guardReport(caller: Caller, taskId: string): Promise<void> {
    const route = await this.routes.route(taskId);
    if (route?.status === 'open' && route.steps[route.step]?.kind === 'people')
      throw notYourApproval(taskId, route.rule, caller.agentId, 'people of the org chart decide it now');
  }

  /** An agent decided while its step waited: the route ends with the task. */
  async decidedByAgent(taskId: string): Promise<void> {
    await this.routes.endOpen(taskId, this.now());
  }

  /** One sweep: applies decisions not yet on their task, escalates steps past their deadline, denies at the chain's end. */
  async sweepOnce(batch: number): Promise<{ escalated: number; ended: number; failed: number }> {
    let escalated = 0;
    let ended = 0;
    let failed = 0;
    for (const taskId of await this.routes.due(this.now(), batch)) {
      // One route that cannot move now (the registry not answering) must not hold up the others.
      try {
        const moved = await this.advance(taskId);
        if (moved === 'escalated') escalated++;
        if (moved === 'ended') ended++;
      } catch (error) {
        failed++;
        this.logger.warn(
          {
            taskId,
            err:
              error instanceof Error
                ? { name: error.name, code: (error as { code?: string }).code }
                : undefined,
          },
          'approval route not moved',
        );
      }
    }
    return { escalated, ended, failed };
  }

  async list(
    caller: Caller,
    view: PersonApprovalView,
    limit: number,
    cursor?: string,
  ): Promise<{ items: PersonApproval[]; nextCursor: string | null }> {
    if (!caller.person) throw peopleDecideOnly('list approvals awaiting them (a person token is needed)');
    // Read before any query: a forged cursor is invalid_cursor (400), never an SQL error.
    const position = cursor === undefined ? undefined : personApprovalCursor.decode(cursor, view);
    const me = caller.agentId;
    const delegators = view === 'awaiting' ? await this.routes.delegatorsOf(me, this.now()) : [];
    // One row more than the page tells whether another page follows.
    const rows =
      view === 'awaiting'
        ? (await this.routes.awaiting([me, ...delegators], limit + 1, position)).map((f) => ({
            ...f,
            at: f.route.stepDeadline,
          }))
        : (await this.routes.decidedBy(me, limit + 1, position)).map((f) => ({ ...f, at: f.decidedAt }));
    const found = rows.slice(0, limit);
    const last = rows.length > limit ? found[found.length - 1] : undefined;
    const nextCursor = last
      ? personApprovalCursor.encode({ view, at: last.at.toISOString(), taskId: last.route.taskId })
      : null;
    const decisions = await this.routes.decisionsByTask(found.map((f) => f.route.taskId));
    return {
      nextCursor,
      items: found.map(({ route, task }) => {
        const made = decisions.get(route.taskId) ?? [];
        const step = route.steps[route.step];
        const decided = new Set(
          made.filter((d) => d.step === route.step).map((d) => d.onBehalfOf ?? d.userId),
        );
        const awaiting = step?.kind === 'people' ? step.approvers.filter((p) => !decided.has(p.userId)) : [];
        const onBehalfOf =
          view === 'awaiting' && !awaiting.some((p) => p.userId === me)
            ? (awaiting.find((p) => delegators.includes(p.userId))?.userId ?? null)
            : null;
        return {
          task: toTask(task),
          rule: route.rule,
          status: route.status,
          step: route.step,
          stepDeadline: route.stepDeadline.toISOString(),
          steps: route.steps,
          awaiting,
          escalationPath: route.steps.slice(route.step + 1).flatMap((s) => s.approvers),
          decisions: made,
          onBehalfOf,
        };
      }),
    };
  }

  /** Whom the caller decides for in this step: themselves, or a person who delegated to them now. */
  private async standingFor(
    userId: string,
    step: ApprovalStep,
    now: Date,
    tx: Parameters<ApprovalRepository['delegatorsOf']>[2],
  ): Promise<string | undefined> {
    if (step.approvers.some((p) => p.userId === userId)) return userId;
    const delegators = await this.routes.delegatorsOf(userId, now, tx);
    return step.approvers.find((p) => delegators.includes(p.userId))?.userId;
  }

  /** A due route: apply its decision, or end it with its task, or move to the next step that has someone to ask. */
  private async advance(taskId: string, because?: string): Promise<'escalated' | 'ended' | undefined> {
    const route = await this.routes.route(taskId);
    if (!route) return undefined;
    if (route.status === 'decided' && route.outcome) {
      await this.finalize(taskId, route.rule, route.outcome);
      return 'ended';
    }
    const task = await this.tasks.get(taskId);
    if (!task || isTerminalTaskState(task.state)) {
      await this.routes.endOpen(taskId, this.now());
      return undefined;
    }
    // Who is next: people who left the org chart since the route was planned are skipped, audited.
    const steps = route.steps.map((s) => ({ ...s, approvers: [...s.approvers] }));
    let next = route.step + 1;
    for (; next < steps.length; next++) {
      const step = steps[next]!;
      const present: ApprovalPerson[] = [];
      for (const person of step.approvers) {
        if (await this.org.person(person.userId)) present.push(person);
        else await this.audit(taskId, `skipped ${person.userId}: left the org chart (rule: ${route.rule})`);
      }
      step.approvers = present;
      step.quorum = Math.max(1, Math.min(step.quorum, present.length));
      if (present.length > 0) break;
    }
    const now = this.now();
    if (next >= steps.length) {
      const outcome: RouteOutcome = {
        decision: 'reject',
        comment: `denied: the approval chain ended undecided (rule: ${route.rule})`,
        by: { userId: SYSTEM, role: SYSTEM },
      };
      const applied = await this.routes.transaction(async (tx) => {
        const locked = await this.routes.route(taskId, tx, true);
        if (!locked || locked.status !== 'open' || locked.step !== route.step) return false;
        await this.routes.updateRoute(tx, taskId, { status: 'decided', outcome }, now);
        return true;
      });
      if (!applied) return undefined;
      await this.finalize(taskId, route.rule, outcome);
      this.logger.info({ taskId, rule: route.rule }, 'approval chain ended: denied');
      return 'ended';
    }
    const target = steps[next]!;
    const moved = await this.routes.transaction(async (tx) => {
      const locked = await this.routes.route(taskId, tx, true);
      // Decided or moved meanwhile (a person decided as the deadline passed): nothing to do.
      if (!locked || locked.status !== 'open' || locked.step !== route.step) return false;
      await this.routes.updateRoute(
        tx,
        taskId,
        { steps, step: next, stepDeadline: this.stepDeadline(now, target.deadlineMs, task.deadline) },
        now,
      );
      return true;
    });
    if (!moved) return undefined;
    const from = route.steps[route.step];
    const why =
      because ??
      (from?.kind === 'agent' ? 'its agents did not decide in time' : 'the deadline of the step passed');
    await this.audit(
      taskId,
      `escalated to ${describe(target.approvers)}: ${why} (rule: ${route.rule})`,
      target.approvers[0],
    );
    return 'escalated';
  }

  /**
   * A step's deadline: its own time, but never past the approval's deadline less a margin, so the
   * route's end (a denial, audited) decides it rather than the generic expiry. After a long outage
   * the remaining steps get what is left, down to none: the chain then runs to its end at once.
   */
  private stepDeadline(now: Date, stepMs: number, taskDeadline: string): Date {
    const last = Date.parse(taskDeadline) - STEP_MARGIN_MS;
    return new Date(Math.max(now.getTime(), Math.min(now.getTime() + stepMs, last)));
  }

  /** Applies a route's outcome to its task: the decide event the requester's session resumes on. */
  private async finalize(taskId: string, rule: string, outcome: RouteOutcome): Promise<Task> {
    const now = this.now();
    const { task } = await this.tasks.applyOutcome(
      taskId,
      outcome.by.userId,
      (current): TaskDecisionOutcome => {
        if (isTerminalTaskState(current.state)) return { kind: 'noop' };
        return {
          kind: 'change',
          event: 'decide',
          to: 'completed',
          reason: `${outcome.decision} (rule: ${rule})${outcome.comment ? `: ${outcome.comment}` : ''}`,
          patch: {
            decision: {
              decision: outcome.decision,
              comment: outcome.comment,
              decidedBy: { agentId: outcome.by.userId, role: outcome.by.role },
              decidedAt: now.toISOString(),
            },
            result: { decision: outcome.decision, comment: outcome.comment, rule },
          },
          now,
        };
      },
    );
    await this.routes.transaction((tx) => this.routes.updateRoute(tx, taskId, { status: 'ended' }, now));
    return task;
  }

  /** An entry in the task's history (and a task-updated event): escalations and skips are audited where the timeline shows them. */
  private async audit(taskId: string, reason: string, escalatedTo?: ApprovalPerson): Promise<void> {
    const now = this.now();
    await this.tasks.applyOutcome(taskId, SYSTEM, (current): TaskDecisionOutcome =>
      isTerminalTaskState(current.state) ? { kind: 'noop' } : auditEntry(current, reason, now, escalatedTo),
    );
  }
}

/**
 * The step's outcome after `decision` (`decisions`: every decision so far, this one included):
 * approved once the quorum approves, rejected once the quorum can no longer be reached, else
 * undefined (the step still waits). `by` names the person who settled it, with their role.
 */
function stepOutcome(
  step: ApprovalStep,
  decisions: readonly PersonDecision[],
  decision: PersonDecision,
  role: string,
): RouteOutcome | undefined {
  const inStep = decisions.filter((d) => d.step === decision.step);
  const approvals = inStep.filter((d) => d.decision === 'approve').length;
  const rejections = inStep.filter((d) => d.decision === 'reject').length;
  const by = { userId: decision.userId, role };
  if (approvals >= step.quorum) return { decision: 'approve', comment: decision.comment, by };
  // Rejected once the quorum can no longer be reached.
  if (step.approvers.length - rejections < step.quorum)
    return { decision: 'reject', comment: decision.comment, by };
  return undefined;
}
