import type { Task, TaskHistoryEntry } from '@orgmesh/contracts';
import type { TaskEventRow, TaskRow } from './task.entity.js';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);
type Json = Task['input'];

export function toTask(row: TaskRow, history?: TaskEventRow[]): Task {
  const task: Task = {
    id: row.id,
    kind: row.kind,
    from: { agentId: row.from_agent_id, role: row.from_role },
    to: { role: row.to_role, agentId: row.to_agent_id },
    assignee:
      row.assignee_agent_id && row.assignee_role
        ? { agentId: row.assignee_agent_id, role: row.assignee_role }
        : null,
    type: row.type,
    subject: row.subject,
    input: (row.input ?? null) as Json,
    details: (row.details ?? null) as Json,
    message: row.message,
    priority: row.priority,
    state: row.state,
    reason: row.reason,
    contextId: row.context_id,
    deadline: row.deadline.toISOString(),
    escalateAt: iso(row.escalate_at),
    result: (row.result ?? null) as Json,
    decision: row.decision,
    escalatedTo: row.escalated_to,
    escalatedAt: iso(row.escalated_at),
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
  if (history) task.history = history.map(toHistoryEntry);
  return task;
}

/**
 * The row a task-created/task-updated event describes: the inverse of `toTask` (an event carries
 * the whole task, version included), so another replica's event can warm this replica's row cache.
 */
export function fromTask(task: Task): TaskRow {
  const date = (value: string): Date => {
    const parsed = new Date(value);
    if (Number.isNaN(parsed.getTime())) throw new Error(`task ${task.id}: invalid timestamp`);
    return parsed;
  };
  return {
    id: task.id,
    kind: task.kind,
    from_agent_id: task.from.agentId,
    from_role: task.from.role,
    to_role: task.to.role,
    to_agent_id: task.to.agentId,
    assignee_agent_id: task.assignee?.agentId ?? null,
    assignee_role: task.assignee?.role ?? null,
    type: task.type,
    subject: task.subject,
    input: task.input,
    details: task.details,
    message: task.message,
    priority: task.priority,
    state: task.state,
    reason: task.reason,
    context_id: task.contextId,
    deadline: date(task.deadline),
    escalate_at: task.escalateAt === null ? null : date(task.escalateAt),
    result: task.result,
    decision: task.decision,
    escalated_to: task.escalatedTo,
    escalated_at: task.escalatedAt === null ? null : date(task.escalatedAt),
    version: task.version,
    created_at: date(task.createdAt),
    updated_at: date(task.updatedAt),
  };
}

export function toHistoryEntry(row: TaskEventRow): TaskHistoryEntry {
  return {
    seq: Number(row.seq),
    event: row.event,
    from: row.from_state,
    to: row.to_state,
    actor: row.actor,
    reason: row.reason,
    occurredAt: row.occurred_at.toISOString(),
  };
}
