import { describe, expect, it } from '@jest/globals';
import { ApprovalRulesFileSchema } from './approval-rules.model.js';

describe('approvals: in a profile file', () => {
  it('maps snake_case to the model, with durations in milliseconds and the defaults', () => {
    expect(
      ApprovalRulesFileSchema.parse([
        {
          id: 'spend',
          from: ['finance'],
          when: { field: 'amount', op: '>', value: 100000 },
          agent_first: '2m',
          approvers: ['manager-of:requester'],
          step_deadline: '30m',
        },
      ]),
    ).toEqual([
      {
        id: 'spend',
        from: ['finance'],
        when: { field: 'amount', op: '>', value: 100000 },
        agentFirstMs: 120_000,
        approvers: ['manager-of:requester'],
        quorum: 1,
        stepDeadlineMs: 1_800_000,
        escalate: 'reporting-line',
        onChainEnd: 'deny',
      },
    ]);
  });

  it('refuses a bad duration, a quorum above the approvers, an unknown key, an approver spec it cannot read and another chain outcome', () => {
    const base = { id: 'rule', approvers: ['u1'], step_deadline: '1h' };
    const problems = (rule: Record<string, unknown>) =>
      ApprovalRulesFileSchema.safeParse([{ ...base, ...rule }]).error?.issues.map((i) => i.path.join('.'));
    expect(problems({ step_deadline: '10 minutes' })).toEqual(['0.step_deadline']);
    expect(problems({ quorum: 2 })).toEqual(['0.quorum']);
    expect(problems({ approvers_of: ['x'] })).toEqual(['0']);
    expect(problems({ approvers: ['manager of requester'] })).toEqual(['0.approvers.0']);
    expect(problems({ on_chain_end: 'approve' })).toEqual(['0.on_chain_end']);
    expect(problems({})).toBeUndefined();
  });
});
