import { createHash, randomUUID } from 'node:crypto';
import {
  BUDGET_WARNING_NOTIFICATION_TYPE,
  inboxSubject,
  UserId,
  type OrgUser,
  type PrivacyBudgetWarningPayload,
  type Task,
} from '@orgmesh/contracts';
import { taskCreate } from '../task/task.changes.js';
import type { IdempotencyClaim, TaskCreate } from '../task/task.repository.types.js';
import type { Clock } from '../task/task.service.js';
import {
  budgetWarningDetails,
  budgetWarningMessage,
  type NotifiedManager,
} from './budget-warning.message.js';

/** The org chart as the notifier asks it (the approvals' NatsOrgChartAdapter answers it, cached). */
export interface ManagerLookup {
  /** The person heading an agent's role, a role, or that person; null when the chart knows no such id. */
  headOf(id: string): Promise<OrgUser | null>;
  /** That person's manager; null at the top of the chart. */
  managerOf(id: string): Promise<OrgUser | null>;
}

/** Where the notification is stored: the task store's create, which writes the claim with the task. */
export interface NotificationStore {
  create(write: TaskCreate, idempotency?: IdempotencyClaim): Promise<{ task: Task; created: boolean }>;
}

export type BudgetWarningOutcome =
  /** A notification was stored and handed to the manager's role inbox (through the outbox). */
  | 'notified'
  /** This warning had been turned into a notification already (a redelivery or a republish). */
  | 'duplicate'
  /** The chart knows nobody above the line's head (or nobody for the agent and role): nobody to tell. */
  | 'no_manager';

/** The claim's operation: the notifier's own, so no caller's idempotency key can collide with it. */
export const BUDGET_WARNING_OPERATION = 'budget-warning';
const SYSTEM = 'system';

/**
 * Turns a budget warning (privacy.v1.budget-warning) into one mesh notification from `system` to the
 * manager's role inbox (ADR 0016, "Warnings"). The manager is the registry's answer for the agent
 * (then the role): the person heading the agent's role, and that person's manager; the notification
 * goes to the role that manager holds, whose agents take it from their inbox and which the console
 * shows. The mesh has no inbox of a person for notifications (people decide approvals only, ADR 0019),
 * so the manager is named by user id in the details, not addressed.
 *
 * Exactly once per warning: the task and an idempotency record keyed by the warning's own id are one
 * statement (TaskRepository.create), so a redelivery, a restart between the write and the ack, or a
 * republish under another message id finds the record and stores nothing.
 */
export class BudgetWarningNotifier {
  constructor(
    private readonly store: NotificationStore,
    private readonly chart: ManagerLookup,
    private readonly options: { deadlineMs: number },
    private readonly clock: Clock,
  ) {}

  async notify(
    warning: PrivacyBudgetWarningPayload,
  ): Promise<{ outcome: BudgetWarningOutcome; task?: Task }> {
    const manager = await this.managerOf(warning);
    if (!manager) return { outcome: 'no_manager' };
    const to = { role: manager.role, agentId: null };
    const now = this.clock.now();
    const write = taskCreate(
      {
        id: randomUUID(),
        kind: 'notification',
        from: { agentId: SYSTEM, role: SYSTEM },
        to,
        type: BUDGET_WARNING_NOTIFICATION_TYPE,
        subject: null,
        input: null,
        details: budgetWarningDetails(warning, manager),
        message: budgetWarningMessage(warning),
        priority: 'high',
        contextId: randomUUID(),
        deadline: new Date(now.getTime() + this.options.deadlineMs),
        escalateAt: null,
        now,
      },
      inboxSubject(to),
    );
    const { task, created } = await this.store.create(write, {
      operation: BUDGET_WARNING_OPERATION,
      actor: SYSTEM,
      key: warning.eventId,
      fingerprint: createHash('sha256').update(warning.eventId).digest('base64url'),
    });
    return { outcome: created ? 'notified' : 'duplicate', task };
  }

  /**
   * Asked as the approvals ask it (`manager-of:requester`): by the agent's id when the budget is an
   * agent's, else (or when the chart does not know the agent) by the role; the first id the chart
   * knows decides.
   */
  private async managerOf(warning: PrivacyBudgetWarningPayload): Promise<NotifiedManager | null> {
    // A token subject the chart's id rule refuses (too long, say) cannot be a person or an agent of
    // the chart: asking would fail the delivery for good, so the role is asked instead.
    const ids = [warning.agentId, warning.role].filter(
      (id): id is string => id !== undefined && UserId.safeParse(id).success,
    );
    for (const id of ids) {
      if (!(await this.chart.headOf(id))) continue;
      const manager = await this.chart.managerOf(id);
      return manager ? { userId: manager.userId, role: manager.role } : null;
    }
    return null;
  }
}
