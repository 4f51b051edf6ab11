import { describe, expect, it } from '@jest/globals';
import type { Caller } from '../auth/caller.js';
import { isVisibleTo, isVisibleToPerson, partiesOf } from './visibility.js';

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

  it("shows a person only the approvals the mesh names, their own sessions and no registry event", async () => {
    const yara = caller('person', 'u00002', 'manager');
    const mine = '6f1e2d3c-4b5a-4a69-8877-665544332211';
    const other = '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';
    const asked: string[][] = [];
    const mesh = async (taskIds: string[]) => {
      asked.push(taskIds);
      return taskIds.filter((id) => id === mine);
    };
    const approval = (id: string) =>
      taskEvent({ agentId: 'finance-agent', role: 'finance' }, { role: 'manager', agentId: null }, { id, kind: 'approval' });
    expect(await isVisibleToPerson(yara, 'mesh', approval(mine), mesh)).toBe(true);
    // Addressed to her token's role, escalated to her: the agent rule would show it, the mesh says no.
    const escalated = taskEvent(
      { agentId: 'finance-agent', role: 'finance' },
      { role: 'manager', agentId: null },
      { id: other, kind: 'approval', escalatedTo: { userId: 'u00002', role: 'manager', name: null } },
    );
    expect(await isVisibleToPerson(yara, 'mesh', escalated, mesh)).toBe(false);
    // A task that is no approval, or without a task id, is never asked about.
    const plain = taskEvent({ agentId: 'u00002', role: 'manager' }, { role: 'manager', agentId: null }, { id: mine, kind: 'task' });
    expect(await isVisibleToPerson(yara, 'mesh', plain, mesh)).toBe(false);
    expect(await isVisibleToPerson(yara, 'mesh', approval('not-a-uuid'), mesh)).toBe(false);
    expect(asked).toEqual([[mine], [other]]);
    expect(await isVisibleToPerson(yara, 'sessions', { agentId: 'u00002' }, mesh)).toBe(true);
    expect(await isVisibleToPerson(yara, 'sessions', { agentId: 'finance-agent', role: 'manager' }, mesh)).toBe(false);
    expect(await isVisibleToPerson(yara, 'registry', { role: 'manager', agentId: 'u00002' }, mesh)).toBe(false);
    // Without the mesh's answer (the sync rule) a person sees no task and no registry event.
    expect(isVisibleTo(yara, 'mesh', approval(mine))).toBe(false);
  });
});
