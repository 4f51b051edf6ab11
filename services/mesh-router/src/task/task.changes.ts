import { InboxDelivery, TaskCreated, TaskUpdated, type Task, type TaskChange } from '@orgmesh/contracts';
import { outboxEvent } from '@orgmesh/messaging';
import type {
  NewTask,
  TaskChangeWrite,
  TaskCreate,
  TaskDecisionOutcome,
  TaskWrite,
} from './task.repository.types.js';

/**
 * What a task's writes are, settled by the service and written by the repository as they are: the
 * new or next task, and the events each write emits — the task-created or task-updated event on
 * the mesh stream and, for a new task or an escalation, the task delivered to an inbox. The task
 * is a `Task` from here to the outbox (the repository maps it to its row for SQL, nothing else).
 * Events are validated here, so a bad one fails its request, not the batch its write goes in.
 */

/** A new task, submitted, and its creation's events (delivered to `deliverTo`, the recipient's inbox). */
export function taskCreate(input: NewTask, deliverTo: string): TaskCreate {
  const createdAt = input.now.toISOString();
  const task: Task = {
    id: input.id,
    kind: input.kind,
    from: { agentId: input.from.agentId, role: input.from.role },
    to: { role: input.to.role, agentId: input.to.agentId },
    assignee: null,
    type: input.type,
    subject: input.subject,
    input: (input.input ?? null) as Task['input'],
    details: (input.details ?? null) as Task['details'],
    message: input.message,
    priority: input.priority,
    state: 'submitted',
    reason: null,
    contextId: input.contextId,
    deadline: input.deadline.toISOString(),
    escalateAt: input.escalateAt ? input.escalateAt.toISOString() : null,
    result: null,
    decision: null,
    escalatedTo: null,
    escalatedAt: null,
    version: 1,
    createdAt,
    updatedAt: createdAt,
  };
  const change: TaskChange = {
    task,
    change: {
      event: 'create',
      from: null,
      to: 'submitted',
      actor: input.from.agentId,
      reason: null,
      occurredAt: createdAt,
    },
  };
  return {
    task,
    events: [
      outboxEvent(TaskCreated, change),
      // The task's id is its first inbox delivery's message id: the re-delivery sweep
      // (delivery/redelivery.ts) publishes it again under the same id, so the stream drops the copy
      // while the original is still in its duplicate window.
      outboxEvent(InboxDelivery, task, { subject: deliverTo, eventId: task.id }),
    ],
  };
}

/** The write a decided outcome makes of `current`, by `actor`: the next task and the change's events. */
export function taskWrite(current: Task, actor: string, outcome: TaskDecisionOutcome): TaskWrite {
  if (outcome.kind === 'noop') return outcome;
  const { patch } = outcome;
  const occurredAt = outcome.now.toISOString();
  // A task read with its history carries it; the change's task does not.
  const { history: _history, ...base } = current;
  const task: Task = {
    ...base,
    assignee: patch.assignee
      ? { agentId: patch.assignee.agentId, role: patch.assignee.role }
      : current.assignee,
    input: patch.input !== undefined ? (patch.input as Task['input']) : current.input,
    state: outcome.to,
    reason: outcome.reason,
    result: patch.result !== undefined ? (patch.result as Task['result']) : current.result,
    decision: patch.decision ?? current.decision,
    escalatedTo: patch.escalatedTo !== undefined ? patch.escalatedTo : current.escalatedTo,
    escalatedAt: patch.escalatedAt ? patch.escalatedAt.toISOString() : current.escalatedAt,
    version: current.version + 1,
    updatedAt: occurredAt,
  };
  const change: TaskChange = {
    task,
    change: {
      event: outcome.event,
      from: current.state,
      to: outcome.to,
      actor,
      reason: outcome.reason,
      occurredAt,
    },
  };
  const events = [outboxEvent(TaskUpdated, change)];
  if (outcome.deliverTo) events.push(outboxEvent(InboxDelivery, task, { subject: outcome.deliverTo }));
  return { kind: 'change', event: outcome.event, task, events };
}

/**
 * Successive changes of `start` by `actor` (the planning entries of a new approval): each decided
 * on the task the previous one left, so the repository writes them one after the other, in order.
 */
export function taskChanges(start: Task, actor: string, outcomes: TaskDecisionOutcome[]): TaskChangeWrite[] {
  const changes: TaskChangeWrite[] = [];
  let current = start;
  for (const outcome of outcomes) {
    const write = taskWrite(current, actor, outcome);
    if (write.kind === 'noop') continue;
    changes.push({ actor, write });
    current = write.task;
  }
  return changes;
}
