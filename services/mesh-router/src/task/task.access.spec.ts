import { describe, expect, it } from '@jest/globals';
import { taskFixture } from '@orgmesh/testing';
import { canCancel, canDecide, canSee, canWork, type Caller } from './task.access.js';

const base = taskFixture({ contextId: 'c' });
const caller = (agentId: string, role: string, admin = false): Caller => ({ agentId, role, admin, seesAll: admin });
const finance = caller('finance-agent', 'finance');
const manager1 = caller('manager-1', 'manager');
const manager2 = caller('manager-2', 'manager');
const exec = caller('ceo-agent', 'executive');
const admin = caller('ops', 'admin', true);

describe('task access rules', () => {
  it('lets any agent of the addressed role take an unassigned task, then only the assignee', () => {
    expect(canWork(base, manager1)).toBe(true);
    expect(canWork(base, manager2)).toBe(true);
    expect(canWork(base, finance)).toBe(false);
    const taken = { ...base, assignee: { agentId: 'manager-1', role: 'manager' } };
    expect(canWork(taken, manager1)).toBe(true);
    expect(canWork(taken, manager2)).toBe(false);
  });

  it('restricts a task addressed to one agent to that agent', () => {
    const direct = { ...base, to: { role: 'manager', agentId: 'manager-2' } };
    expect(canWork(direct, manager1)).toBe(false);
    expect(canWork(direct, manager2)).toBe(true);
    expect(canSee(direct, manager1)).toBe(false);
  });

  it('lets the escalation target decide even after the approver took it', () => {
    const escalated = {
      ...base,
      assignee: { agentId: 'manager-1', role: 'manager' },
      escalatedTo: { userId: 'u-ceo', role: 'executive', name: null },
    };
    expect(canDecide(escalated, exec)).toBe(true);
    expect(canDecide(escalated, manager2)).toBe(false);
    expect(canSee(escalated, exec)).toBe(true);
    expect(canDecide(base, exec)).toBe(false);
  });

  it('lets only the sender or an admin cancel, and shows a task only to its parties and admins', () => {
    expect(canCancel(base, finance)).toBe(true);
    expect(canCancel(base, manager1)).toBe(false);
    expect(canCancel(base, admin)).toBe(true);
    expect(canSee(base, finance)).toBe(true);
    expect(canSee(base, caller('legal-agent', 'legal'))).toBe(false);
    expect(canSee(base, admin)).toBe(true);
  });
});
