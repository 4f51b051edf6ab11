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
const payables = caller('agent', 'accounts-payable-agent', 'finance');

const taskEvent = (
  from: { agentId: string; role: string },
  to: { role: string; agentId: string | null },
  extra: Record<string, unknown> = {},
) => ({ task: { from, to, assignee: null, escalatedTo: null, input: { iban: 'x' }, ...extra }, change: {} });

describe('event visibility', () => {
  it('shows an agent its own sessions only, not those of another agent of its role', () => {
    expect(isVisibleTo(finance, 'sessions', { id: 's1', agentId: 'finance-agent', role: 'finance' })).toBe(true);
    expect(
      isVisibleTo(finance, 'sessions', { sessionId: 's2', agentId: 'accounts-payable-agent', role: 'finance' }),
    ).toBe(false);
    expect(isVisibleTo(finance, 'sessions', { sessionId: 's3', role: 'finance' })).toBe(false);
  });

  it('applies the task rule: sender, addressed agent, role when no agent was named, assignee, escalation', () => {
    const fin = { agentId: 'finance-agent', role: 'finance' };
    const toPayables = taskEvent(fin, { role: 'finance', agentId: 'accounts-payable-agent' });
    expect(isVisibleTo(finance, 'mesh', toPayables)).toBe(true);
    expect(isVisibleTo(payables, 'mesh', toPayables)).toBe(true);
    // Same role as the addressee, but the task named another agent.
    expect(isVisibleTo(caller('agent', 'accounts-receivable-agent', 'finance'), 'mesh', toPayables)).toBe(false);

    const toRole = taskEvent({ agentId: 'manager-agent', role: 'manager' }, { role: 'finance', agentId: null });
    expect(isVisibleTo(payables, 'mesh', toRole)).toBe(true);
    expect(isVisibleTo(caller('agent', 'legal-agent', 'legal'), 'mesh', toRole)).toBe(false);

    const taken = taskEvent(fin, { role: 'legal', agentId: null }, { assignee: { agentId: 'x-agent', role: 'other' } });
    expect(isVisibleTo(caller('agent', 'x-agent', 'other'), 'mesh', taken)).toBe(true);

    const escalated = taskEvent(fin, { role: 'manager', agentId: null }, {
      escalatedTo: { userId: 'cfo', role: 'executive', name: null },
    });
    expect(isVisibleTo(caller('agent', 'x', 'executive'), 'mesh', escalated)).toBe(true);
    expect(isVisibleTo(caller('agent', 'cfo', 'other'), 'mesh', escalated)).toBe(true);
  });

  it('shows an agent no mesh event whose task it cannot read', () => {
    expect(isVisibleTo(finance, 'mesh', { role: 'finance', agentId: 'finance-agent' })).toBe(false);
    expect(isVisibleTo(finance, 'mesh', null)).toBe(false);
  });

  it('shows registry events about the agent or its role, never org-wide ones', () => {
    expect(isVisibleTo(finance, 'registry', { agentId: 'finance-agent', occurredAt: 'now' })).toBe(true);
    expect(isVisibleTo(finance, 'registry', { agent: { id: 'legal-agent', role: 'legal' } })).toBe(false);
    expect(isVisibleTo(finance, 'registry', { profileId: 'finance-default', role: 'finance' })).toBe(true);
    expect(isVisibleTo(finance, 'registry', { orgVersion: 3, users: 60, importedBy: 'admin' })).toBe(false);
  });

  it('shows admins and viewers everything', () => {
    expect(isVisibleTo(caller('admin', 'admin', 'admin'), 'registry', { orgVersion: 3 })).toBe(true);
    expect(isVisibleTo(caller('viewer', 'viewer', 'viewer'), 'sessions', { agentId: 'legal-agent' })).toBe(true);
    expect(
      isVisibleTo(caller('viewer', 'viewer', 'viewer'), 'mesh', taskEvent({ agentId: 'a', role: 'r' }, { role: 's', agentId: null })),
    ).toBe(true);
  });

  it('reads registry parties from strings and objects only', () => {
    expect(
      [...partiesOf({ from: 'finance', to: { role: 'manager', agentId: 'manager-agent' }, role: 3 })].sort(),
    ).toEqual(['finance', 'manager', 'manager-agent']);
    expect(partiesOf(null).size).toBe(0);
  });
});
