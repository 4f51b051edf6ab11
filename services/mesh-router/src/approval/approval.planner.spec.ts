import { describe, expect, it } from '@jest/globals';
import type { ApprovalRule } from '@orgmesh/contracts';
import { planDurationMs, ruleMatches } from './approval.planner.js';

const rule = (over: Partial<ApprovalRule> = {}): ApprovalRule => ({
  id: 'spend',
  approvers: ['manager-of:requester'],
  quorum: 1,
  stepDeadlineMs: 60_000,
  escalate: 'reporting-line',
  onChainEnd: 'deny',
  ...over,
});

describe('ruleMatches', () => {
  const over100k = rule({ from: ['finance'], when: { field: 'amount', op: '>', value: 100_000 } });

  it('applies a threshold on a numeric details field, for the roles it names', () => {
    expect(ruleMatches(over100k, 'finance', { amount: 125_000 })).toBe(true);
    expect(ruleMatches(over100k, 'finance', { amount: 100_000 })).toBe(false);
    expect(ruleMatches(over100k, 'sales', { amount: 125_000 })).toBe(false);
  });

  it('compares with each operator', () => {
    const at = (op: '>' | '>=' | '<' | '<=' | '==') => (value: number) =>
      ruleMatches(rule({ when: { field: 'n', op, value: 10 } }), 'any', { n: value });
    expect([9, 10, 11].map(at('>'))).toEqual([false, false, true]);
    expect([9, 10, 11].map(at('>='))).toEqual([false, true, true]);
    expect([9, 10, 11].map(at('<'))).toEqual([true, false, false]);
    expect([9, 10, 11].map(at('<='))).toEqual([true, true, false]);
    expect([9, 10, 11].map(at('=='))).toEqual([false, true, false]);
  });

  it('reads a dotted path, and never matches a missing, non-numeric or non-finite value', () => {
    const nested = rule({ when: { field: 'budget.total', op: '>', value: 5 } });
    expect(ruleMatches(nested, 'x', { budget: { total: 6 } })).toBe(true);
    for (const details of [undefined, null, {}, { budget: 6 }, { budget: { total: '6' } }, { budget: [6] }])
      expect(ruleMatches(nested, 'x', details)).toBe(false);
    expect(ruleMatches(over100k, 'finance', { amount: Number.POSITIVE_INFINITY })).toBe(false);
  });

  it('without `from` or `when` applies to every request; `*` names every role', () => {
    expect(ruleMatches(rule(), 'legal', undefined)).toBe(true);
    expect(ruleMatches(rule({ from: ['*'] }), 'legal', undefined)).toBe(true);
  });
});

describe('planDurationMs', () => {
  it('adds the steps’ times', () => {
    expect(
      planDurationMs({
        rule: 'r',
        skipped: [],
        steps: [
          { kind: 'agent', approvers: [], quorum: 1, deadlineMs: 120_000 },
          { kind: 'people', approvers: [], quorum: 1, deadlineMs: 1_800_000 },
        ],
      }),
    ).toBe(1_920_000);
  });
});
