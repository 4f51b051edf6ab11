import { describe, expect, it } from '@jest/globals';
import { AppError } from '@orgmesh/contracts';
import type { SessionCaller } from '../identity/caller-identity.js';
import { listFilterAgent, requireMayAct, requireMayOpen, requireMayRead } from './session.access.js';

const caller = (kind: SessionCaller['kind'], agentId: string, role: string): SessionCaller => ({
  kind,
  agentId,
  role,
  seesAll: kind !== 'agent',
});
const finance = caller('agent', 'finance-agent', 'finance');
const viewer = caller('viewer', 'dashboard', 'viewer');
const admin = caller('admin', 'ops', 'admin');
const payablesSession = { id: 's1', agentId: 'accounts-payable-agent' };

function code(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return error instanceof AppError ? error.code : 'not an AppError';
  }
}

describe('session access', () => {
  it("refuses an agent another agent's session of its own role, to read or to act on", () => {
    expect(code(() => requireMayRead(payablesSession, finance))).toBe('forbidden');
    expect(code(() => requireMayAct(payablesSession, finance))).toBe('forbidden');
    expect(code(() => requireMayAct({ id: 's2', agentId: 'finance-agent' }, finance))).toBeUndefined();
  });

  it('lets admins act on any session and viewers read any but change none', () => {
    expect(code(() => requireMayAct(payablesSession, admin))).toBeUndefined();
    expect(code(() => requireMayRead(payablesSession, viewer))).toBeUndefined();
    expect(code(() => requireMayAct(payablesSession, viewer))).toBe('forbidden');
    expect(code(() => requireMayOpen({ agentId: 'x', role: 'y' }, viewer))).toBe('forbidden');
  });

  it('lets an agent open sessions only for itself as its own role', () => {
    expect(code(() => requireMayOpen({ agentId: 'finance-agent', role: 'finance' }, finance))).toBeUndefined();
    expect(code(() => requireMayOpen({ agentId: 'accounts-payable-agent', role: 'finance' }, finance))).toBe(
      'forbidden',
    );
    expect(code(() => requireMayOpen({ agentId: 'finance-agent', role: 'legal' }, finance))).toBe('forbidden');
    expect(code(() => requireMayOpen({ agentId: 'anyone', role: 'legal' }, admin))).toBeUndefined();
  });

  it("lists an agent's own sessions whatever it asks, and refuses naming another agent", () => {
    expect(listFilterAgent(undefined, finance)).toBe('finance-agent');
    expect(listFilterAgent('finance-agent', finance)).toBe('finance-agent');
    expect(code(() => listFilterAgent('accounts-payable-agent', finance))).toBe('forbidden');
    expect(listFilterAgent(undefined, viewer)).toBeUndefined();
    expect(listFilterAgent('accounts-payable-agent', admin)).toBe('accounts-payable-agent');
  });
});
