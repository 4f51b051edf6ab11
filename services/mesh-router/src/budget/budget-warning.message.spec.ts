import { describe, expect, it } from '@jest/globals';
import { BudgetWarningNotificationDetails, type PrivacyBudgetWarningPayload } from '@orgmesh/contracts';
import { budgetWarningDetails, budgetWarningMessage, percentUsed } from './budget-warning.message.js';

const warning: PrivacyBudgetWarningPayload = {
  eventId: 'bw:acme:agent:finance-agent:finance-agent-daily-tokens:2026-12-06',
  tenant: 'acme',
  role: 'finance',
  agentId: 'finance-agent',
  profileId: 'finance',
  budget: 'finance-agent-daily-tokens',
  per: 'agent',
  window: 'day',
  reset: 'calendar',
  windowStart: '2026-12-06T00:00:00.000Z',
  unit: 'tokens',
  limit: 200,
  used: 61,
  warnAt: 0.25,
  occurredAt: '2026-12-06T09:00:00.000Z',
};

describe('budget warning notification content', () => {
  it('states the agent, role, budget, window and percent used in one line', () => {
    expect(percentUsed(warning)).toBe(30.5);
    expect(budgetWarningMessage(warning)).toBe(
      'LLM budget "finance-agent-daily-tokens" of agent finance-agent (role finance) is 30.5% used: ' +
        '61 tokens of 200 tokens per calendar day (window from 2026-12-06T00:00:00.000Z); the warning threshold is 25%.',
    );
    const { agentId: _agentId, ...roleWarning } = warning;
    expect(
      budgetWarningMessage({ ...roleWarning, per: 'role', unit: 'usd', limit: 5, used: 4.1, warnAt: 0.8 }),
    ).toMatch(/^LLM budget "finance-agent-daily-tokens" of role finance is 82% used: \$4\.1 of \$5 per/);
  });

  it('carries ids, counts and the manager by id only, and nothing the event adds later', () => {
    const details = budgetWarningDetails(
      { ...warning, ...({ prompt: 'the quarter numbers', managerName: 'Yara Quinn' } as object) },
      { userId: 'u00002', role: 'manager' },
    );
    expect(BudgetWarningNotificationDetails.parse(details)).toEqual(details);
    expect(details).toEqual({
      eventId: warning.eventId,
      tenant: 'acme',
      role: 'finance',
      agentId: 'finance-agent',
      profileId: 'finance',
      budget: 'finance-agent-daily-tokens',
      per: 'agent',
      window: 'day',
      reset: 'calendar',
      windowStart: '2026-12-06T00:00:00.000Z',
      unit: 'tokens',
      limit: 200,
      used: 61,
      warnAt: 0.25,
      percentUsed: 30.5,
      manager: { userId: 'u00002', role: 'manager' },
    });
    expect(JSON.stringify(details)).not.toMatch(/quarter|Yara/);
  });
});
