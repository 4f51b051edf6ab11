import { describe, expect, it } from '@jest/globals';
import { InboxDelivery, Task, TaskChange, TaskCreated, TaskUpdated } from '@orgmesh/contracts';
import { taskChanges, taskCreate, taskWrite } from './task.changes.js';
import type { NewTask } from './task.repository.types.js';

const now = new Date('2026-11-21T09:00:00.000Z');
const input: NewTask = {
  id: '0b6c1f3e-2a4d-4e7b-9c1a-5d2f8e3b7a10',
  kind: 'approval',
  from: { agentId: 'finance-agent', role: 'finance' },
  to: { role: 'manager', agentId: null },
  type: null,
  subject: 'Pay invoice 7',
  input: undefined,
  details: { amount: 1200 },
  message: null,
  priority: 'high',
  contextId: 'ctx-1',
  deadline: new Date('2026-11-22T09:00:00.000Z'),
  escalateAt: new Date('2026-11-21T21:00:00.000Z'),
  now,
};

describe('taskCreate: the new task and the events its creation emits', () => {
  it('is a valid submitted task at version 1, announced on the mesh and delivered to the recipient under its own id', () => {
    const { task, events } = taskCreate(input, 'mesh.v1.inbox.manager');
    expect(Task.parse(task)).toEqual(task);
    expect(task).toMatchObject({
      state: 'submitted',
      version: 1,
      assignee: null,
      input: null,
      escalatedAt: null,
    });
    expect(task.escalateAt).toBe('2026-11-21T21:00:00.000Z');
    expect(events.map((e) => e.subject)).toEqual([TaskCreated.subject, 'mesh.v1.inbox.manager']);
    // Its first inbox delivery carries the task id, so a re-delivery under that id is deduplicated.
    expect(events[1]?.eventId).toBe(task.id);
    expect(events[0]?.eventId).not.toBe(task.id);
    const created = TaskChange.parse(JSON.parse(events[0]!.payload));
    expect(created.change).toEqual({
      event: 'create',
      from: null,
      to: 'submitted',
      actor: 'finance-agent',
      reason: null,
      occurredAt: now.toISOString(),
    });
    expect(InboxDelivery.schema.parse(JSON.parse(events[1]!.payload))).toEqual(task);
  });
});

describe('taskWrite: the write a decided outcome makes', () => {
  const current = taskCreate(input, 'mesh.v1.inbox.manager').task;
  const later = new Date('2026-11-21T10:00:00.000Z');

  it('passes a no-op through', () => {
    expect(taskWrite(current, 'manager-agent', { kind: 'noop' })).toEqual({ kind: 'noop' });
  });

  it('applies the patch, moves the version and time, and emits task-updated with the change', () => {
    const write = taskWrite({ ...current, history: [] }, 'manager-agent', {
      kind: 'change',
      event: 'decide',
      to: 'completed',
      reason: 'approve',
      patch: {
        assignee: { agentId: 'manager-agent', role: 'manager' },
        decision: {
          decision: 'approve',
          comment: null,
          decidedBy: { agentId: 'manager-agent', role: 'manager' },
          decidedAt: later.toISOString(),
        },
        result: { decision: 'approve', comment: null },
      },
      now: later,
    });
    if (write.kind !== 'change') throw new Error('expected a change');
    expect(write.event).toBe('decide');
    expect(write.task).toMatchObject({
      state: 'completed',
      reason: 'approve',
      version: 2,
      updatedAt: later.toISOString(),
      createdAt: current.createdAt,
      assignee: { agentId: 'manager-agent', role: 'manager' },
      result: { decision: 'approve', comment: null },
    });
    // A history read with the task is not part of the changed task (nor of its event).
    expect('history' in write.task).toBe(false);
    expect(write.events.map((e) => e.subject)).toEqual([TaskUpdated.subject]);
    expect(TaskChange.parse(JSON.parse(write.events[0]!.payload))).toEqual({
      task: write.task,
      change: {
        event: 'decide',
        from: 'submitted',
        to: 'completed',
        actor: 'manager-agent',
        reason: 'approve',
        occurredAt: later.toISOString(),
      },
    });
  });

  it('keeps what the patch does not name, and delivers an escalation to its new inbox under a new id', () => {
    const taken = {
      ...current,
      assignee: { agentId: 'manager-agent', role: 'manager' },
      state: 'working' as const,
    };
    const write = taskWrite(taken, 'system', {
      kind: 'change',
      event: 'escalate',
      to: 'working',
      reason: 'escalated to u-cfo (executive)',
      patch: { escalatedTo: { userId: 'u-cfo', role: 'executive', name: null }, escalatedAt: later },
      deliverTo: 'mesh.v1.inbox.executive',
      now: later,
    });
    if (write.kind !== 'change') throw new Error('expected a change');
    expect(write.task.assignee).toEqual(taken.assignee);
    expect(write.task.result).toBeNull();
    expect(write.task.escalatedAt).toBe(later.toISOString());
    expect(write.events.map((e) => e.subject)).toEqual([TaskUpdated.subject, 'mesh.v1.inbox.executive']);
    expect(write.events[1]?.eventId).not.toBe(taken.id);
    expect(JSON.parse(write.events[1]!.payload)).toEqual(write.task);
  });
});

describe("taskChanges: successive changes of a new task (an approval's planning entries)", () => {
  it('decides each on the task the previous one left: versions follow, the last patch wins, no-ops are dropped', () => {
    const { task } = taskCreate(input, 'mesh.v1.inbox.manager');
    const entry = (reason: string, userId?: string) => ({
      kind: 'change' as const,
      event: 'escalate' as const,
      to: 'submitted' as const,
      reason,
      patch: userId ? { escalatedTo: { userId, role: 'manager', name: null }, escalatedAt: now } : {},
      now,
    });
    const changes = taskChanges(task, 'system', [
      entry('skipped u99999: not in the org chart'),
      { kind: 'noop' },
      entry('awaiting u00003', 'u00003'),
    ]);
    expect(changes.map((c) => [c.actor, c.write.task.version, c.write.task.reason])).toEqual([
      ['system', 2, 'skipped u99999: not in the org chart'],
      ['system', 3, 'awaiting u00003'],
    ]);
    expect(changes[1]?.write.task.escalatedTo?.userId).toBe('u00003');
    const updated = changes.map((c) => TaskChange.parse(JSON.parse(c.write.events[0]!.payload)));
    expect(updated.map((u) => [u.task.version, u.change.event, u.change.from, u.change.to])).toEqual([
      [2, 'escalate', 'submitted', 'submitted'],
      [3, 'escalate', 'submitted', 'submitted'],
    ]);
    expect(taskChanges(task, 'system', [])).toEqual([]);
  });
});
