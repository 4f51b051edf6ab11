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
