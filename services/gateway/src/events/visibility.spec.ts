import { describe, expect, it } from '@jest/globals';
import type { Caller } from '../auth/caller.js';
import { isVisibleTo, partiesOf } from './visibility.js';

const caller = (kind: Caller['kind'], subject: string, role: string): Caller =>
  ({
    kind,
    subject,
    role,
    authorization: '',
    principal: { subject, role, tenant: 'default', scopes: [], token: '' },
  }) as Caller;

const finance = caller('agent', 'finance-agent', 'finance');

describe('event visibility', () => {
  it("shows an agent its own role's sessions only", () => {
    expect(isVisibleTo(finance, { id: 's1', agentId: 'finance-agent', role: 'finance' })).toBe(true);
    expect(isVisibleTo(finance, { sessionId: 's2', agentId: 'other-finance-agent', role: 'finance' })).toBe(
      true,
    );
    expect(isVisibleTo(finance, { sessionId: 's3', agentId: 'legal-agent', role: 'legal' })).toBe(false);
  });

  it('shows an agent the tasks it sends, receives or was assigned, and escalations to its role', () => {
    const task = (from: string, to: string) => ({
      task: {
        from: { agentId: `${from}-agent`, role: from },
        to: { role: to, agentId: null },
        assignee: null,
      },
      change: { actor: 'x' },
    });
    expect(isVisibleTo(finance, task('finance', 'manager'))).toBe(true);
    expect(isVisibleTo(finance, task('manager', 'finance'))).toBe(true);
    expect(isVisibleTo(finance, task('manager', 'legal'))).toBe(false);
    expect(
      isVisibleTo(caller('agent', 'x', 'executive'), {
        task: { ...task('finance', 'manager').task, escalatedTo: { userId: 'cfo', role: 'executive' } },
      }),
    ).toBe(true);
  });

  it('shows registry events about the agent or its role, never org-wide ones', () => {
    expect(isVisibleTo(finance, { agentId: 'finance-agent', occurredAt: 'now' })).toBe(true);
    expect(isVisibleTo(finance, { agent: { id: 'legal-agent', role: 'legal' } })).toBe(false);
    expect(isVisibleTo(finance, { profileId: 'finance-default', role: 'finance' })).toBe(true);
    expect(isVisibleTo(finance, { orgVersion: 3, users: 60, importedBy: 'admin' })).toBe(false);
  });

  it('shows admins and viewers everything', () => {
    expect(isVisibleTo(caller('admin', 'admin', 'admin'), { orgVersion: 3 })).toBe(true);
    expect(isVisibleTo(caller('viewer', 'viewer', 'viewer'), { role: 'legal' })).toBe(true);
  });

  it('reads parties from strings and objects only', () => {
    expect(
      [...partiesOf({ from: 'finance', to: { role: 'manager', agentId: 'manager-agent' }, role: 3 })].sort(),
    ).toEqual(['finance', 'manager', 'manager-agent']);
    expect(partiesOf(null).size).toBe(0);
  });
});
