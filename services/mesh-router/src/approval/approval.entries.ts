import type { ApprovalPerson, Task } from '@orgmesh/contracts';
import type { TaskDecisionOutcome } from '../task/task.repository.types.js';

/**
 * The task history entries approvals write (ADR 0019): skips, whom a route waits for, escalations.
 * Decided here, written by the task's change path (or, at planning, by the task's create).
 */

/** An audit entry of `current` (event `escalate`, its state unchanged), naming the person it now waits for if any. */
export function auditEntry(
  current: Task,
  reason: string,
  now: Date,
  escalatedTo?: ApprovalPerson,
): TaskDecisionOutcome {
  return {
    kind: 'change',
    event: 'escalate',
    to: current.state,
    reason,
    patch: escalatedTo
      ? {
          escalatedTo: {
            userId: escalatedTo.userId,
            role: escalatedTo.role ?? 'person',
            name: escalatedTo.name,
          },
          escalatedAt: now,
        }
      : {},
    now,
  };
}

/** The people of a step as an entry names them: user id and name. */
export function describe(people: readonly ApprovalPerson[]): string {
  if (people.length === 0) return 'nobody';
  return people.map((p) => (p.name ? `${p.userId} (${p.name})` : p.userId)).join(', ');
}
