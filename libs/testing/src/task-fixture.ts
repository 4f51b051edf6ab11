import type { PrivacyBudgetWarningPayload, Task } from '@orgmesh/contracts';

/**
 * A complete, valid mesh task for unit tests: by default a submitted approval from the Finance
 * agent to the Manager role (the demo's first step). Pass only what a test is about.
 */
export function taskFixture(overrides: Partial<Task> = {}): Task {
  return {
    id: '7a0c1f3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f',
    kind: 'approval',
    from: { agentId: 'finance-agent', role: 'finance' },
    to: { role: 'manager', agentId: null },
    assignee: null,
    type: null,
    subject: 'budget',
    input: null,
    details: null,
    message: null,
    priority: 'normal',
    state: 'submitted',
    reason: null,
    contextId: 'ctx-1',
    deadline: '2030-01-01T00:00:00.000Z',
    escalateAt: null,
    result: null,
    decision: null,
    escalatedTo: null,
    escalatedAt: null,
    version: 1,
    createdAt: '2029-01-01T00:00:00.000Z',
    updatedAt: '2029-01-01T00:00:00.000Z',
    ...overrides,
  };
}

/**
 * A valid `privacy.v1.budget-warning` payload for tests: the Finance agent's daily token budget at
 * 80 of 100 with the warning at 80 %. Pass only what a test is about.
 */
export function budgetWarningFixture(
  overrides: Partial<PrivacyBudgetWarningPayload> = {},
): PrivacyBudgetWarningPayload {
  return {
    eventId: 'warn-1',
    tenant: 'acme',
    role: 'finance',
    agentId: 'finance-agent',
    budget: 'agent-daily-tokens',
    per: 'agent',
    window: 'day',
    reset: 'calendar',
    windowStart: '2026-12-06T00:00:00.000Z',
    unit: 'tokens',
    limit: 100,
    used: 80,
    warnAt: 0.8,
    occurredAt: '2026-12-06T10:00:00.000Z',
    ...overrides,
  };
}
