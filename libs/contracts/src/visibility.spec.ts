import { describe, expect, it } from '@jest/globals';
import { canSeeSession, canSeeTask, TASK_VISIBILITY, type Observer, type TaskParties } from './visibility.js';

const agent = (agentId: string, role: string): Observer => ({ agentId, role, seesAll: false });
const task = (over: Partial<TaskParties> = {}): TaskParties => ({
  from: { agentId: 'finance-agent', role: 'finance' },
  to: { role: 'finance', agentId: 'accounts-payable-agent' },
  assignee: null,
  escalatedTo: null,
  ...over,
});

describe('canSeeTask', () => {
  it('shows a task addressed to one agent to that agent and its sender, not to others of the role', () => {
    expect(canSeeTask(task(), agent('finance-agent', 'finance'))).toBe(true);
    expect(canSeeTask(task(), agent('accounts-payable-agent', 'finance'))).toBe(true);
    expect(canSeeTask(task(), agent('accounts-receivable-agent', 'finance'))).toBe(false);
  });

  it('shows a task addressed to a role to every agent of it, and to its assignee and escalation target', () => {
    const toRole = task({ from: { agentId: 'm', role: 'manager' }, to: { role: 'legal', agentId: null } });
    expect(canSeeTask(toRole, agent('legal-agent', 'legal'))).toBe(true);
    expect(canSeeTask(toRole, agent('finance-agent', 'finance'))).toBe(false);
    expect(canSeeTask({ ...toRole, assignee: { agentId: 'x', role: 'y' } }, agent('x', 'y'))).toBe(true);
    const escalated = { ...toRole, escalatedTo: { userId: 'u-cfo', role: 'executive', name: null } };
    expect(canSeeTask(escalated, agent('ceo', 'executive'))).toBe(true);
    expect(canSeeTask(escalated, agent('u-cfo', 'other'))).toBe(true);
  });

  it('shows every task to an observer that sees all', () => {
    expect(canSeeTask(task(), { agentId: 'viewer', role: 'viewer', seesAll: true })).toBe(true);
  });
});

describe('canSeeSession', () => {
  it("shows an agent its own sessions only, not another agent's of its role", () => {
    expect(canSeeSession({ agentId: 'finance-agent' }, agent('finance-agent', 'finance'))).toBe(true);
    expect(canSeeSession({ agentId: 'accounts-payable-agent' }, agent('finance-agent', 'finance'))).toBe(false);
    expect(canSeeSession({ agentId: 'a' }, { agentId: 'admin', role: 'admin', seesAll: true })).toBe(true);
  });
});

describe('TASK_VISIBILITY', () => {
  it('is what canSeeTask evaluates: every clause alone grants sight, and nothing else does', () => {
    const none = task({
      from: { agentId: 'a', role: 'ra' },
      to: { role: 'rb', agentId: 'b' },
      assignee: { agentId: 'c', role: 'rc' },
      escalatedTo: { userId: 'd', role: 'rd', name: null },
    });
    const nobody = agent('z', 'rz');
    expect(canSeeTask(none, nobody)).toBe(false);
    // One observer per clause, each matching exactly that clause.
    expect(canSeeTask(none, agent('a', 'rz'))).toBe(true);
    expect(canSeeTask(none, agent('c', 'rz'))).toBe(true);
    expect(canSeeTask(none, agent('b', 'rz'))).toBe(true);
    expect(canSeeTask(none, agent('z', 'rb'))).toBe(false);
    expect(canSeeTask({ ...none, to: { role: 'rb', agentId: null } }, agent('z', 'rb'))).toBe(true);
    expect(canSeeTask(none, agent('z', 'rd'))).toBe(true);
    expect(canSeeTask(none, agent('d', 'rz'))).toBe(true);
    expect(TASK_VISIBILITY).toHaveLength(6);
  });
});
