import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { allContracts } from '../define.js';
import {
  InboxDelivery,
  MESH_EVENT_SUBJECTS,
  MESH_INBOX_SUBJECTS,
  RecipientInput,
  SendTask,
  Task,
  TaskUpdated,
  agentInboxSubject,
  agentUpdatesSubject,
  inboxSubject,
  roleInboxSubject,
} from './index.js';

const task: Task = {
  id: '7a0c1f3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f',
  kind: 'approval',
  from: { agentId: 'finance-agent', role: 'finance' },
  to: { role: 'manager', agentId: null },
  assignee: null,
  type: null,
  subject: 'Q3 budget',
  input: null,
  details: { amount: 120000, currency: 'EUR', lines: [{ item: 'laptops', qty: 40 }] },
  message: null,
  priority: 'normal',
  state: 'submitted',
  reason: null,
  contextId: 'ctx-1',
  deadline: '2030-01-01T00:00:00.000Z',
  escalateAt: '2029-12-31T00:00:00.000Z',
  result: null,
  decision: null,
  escalatedTo: null,
  escalatedAt: null,
  version: 1,
  createdAt: '2029-12-30T00:00:00.000Z',
  updatedAt: '2029-12-30T00:00:00.000Z',
};

describe('mesh contracts', () => {
  it('defines fourteen RPCs and three events under the mesh context', () => {
    const mesh = allContracts().filter((c) => c.context === 'mesh');
    expect(
      mesh
        .filter((c) => c.kind === 'rpc')
        .map((c) => c.subject)
        .sort(),
    ).toEqual(
      [
        'add-task-input',
        'cancel',
        'decide',
        'delegate-approvals',
        'get-task',
        'list-delegations',
        'list-person-approvals',
        'list-tasks',
        'notify',
        'person-approval-visibility',
        'request-approval',
        'revoke-delegation',
        'send-task',
        'update-task',
      ].map((v) => `rpc.mesh.v1.${v}`),
    );
    expect(
      mesh
        .filter((c) => c.kind === 'event')
        .map((c) => c.subject)
        .sort(),
    ).toEqual(['mesh.v1.inbox', 'mesh.v1.task-created', 'mesh.v1.task-updated']);
    expect(MESH_EVENT_SUBJECTS).not.toContain(InboxDelivery.subject);
  });

  it("names each sender's updates subject outside both streams, and none for an id that is not one token", () => {
    expect(agentUpdatesSubject('finance-agent')).toBe('mesh.v1.updates.finance-agent');
    const captured = [...MESH_EVENT_SUBJECTS, ...MESH_INBOX_SUBJECTS.map((s) => s.replace('>', 'x'))];
    expect(captured).not.toContain(agentUpdatesSubject('x'));
    expect(MESH_INBOX_SUBJECTS.every((s) => !'mesh.v1.updates.x'.startsWith(s.replace('>', '')))).toBe(true);
    for (const id of ['a.b', 'a*', '>', 'u@example.com', 'a b', '']) expect(agentUpdatesSubject(id)).toBeUndefined();
  });

  it('round-trips a task, refusing unknown states and malformed ids', () => {
    expect(Task.parse(task)).toEqual(task);
    expect(Task.safeParse({ ...task, state: 'expired' }).success).toBe(false);
    expect(Task.safeParse({ ...task, to: { role: 'Manager', agentId: null } }).success).toBe(false);
    expect(
      TaskUpdated.schema.safeParse({
        task,
        change: {
          event: 'escalate',
          from: 'submitted',
          to: 'submitted',
          actor: 'system',
          reason: null,
          occurredAt: task.createdAt,
        },
      }).success,
    ).toBe(true);
  });

  it('ignores a sender claimed in the payload: the request schema has no such field', () => {
    const parsed = SendTask.request.parse({
      to: 'legal',
      type: 'review',
      from: { agentId: 'x', role: 'manager' },
    });
    expect(parsed).not.toHaveProperty('from');
    expect(parsed.priority).toBe('normal');
  });

  it('names inbox subjects by role or by agent', () => {
    expect(roleInboxSubject('legal')).toBe('mesh.v1.inbox.legal');
    expect(agentInboxSubject('legal-agent')).toBe('mesh.v1.inbox.agent.legal-agent');
    expect(inboxSubject({ role: 'legal', agentId: null })).toBe('mesh.v1.inbox.legal');
    expect(inboxSubject({ role: 'legal', agentId: 'legal-2' })).toBe('mesh.v1.inbox.agent.legal-2');
    // Subject tokens stay safe: recipients are kebab-case ids.
    expect(RecipientInput.safeParse('legal.>').success).toBe(false);
    expect(RecipientInput.safeParse({ role: 'legal', agentId: 'a b' }).success).toBe(false);
  });

  it('exports JSON schemas for every mesh contract', () => {
    for (const c of allContracts().filter((d) => d.context === 'mesh')) {
      const schemas = c.kind === 'rpc' ? [c.request, c.response] : [c.schema];
      for (const s of schemas)
        expect(() => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' })).not.toThrow();
    }
  });
});
