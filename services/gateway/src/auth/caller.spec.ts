import { describe, expect, it } from '@jest/globals';
import { AppError } from '@orgmesh/contracts';
import { ownRoleFilter, selfFilter, type Caller } from './caller.js';

function caller(kind: Caller['kind']): Caller {
  return { kind, subject: 'finance-agent', role: 'finance', authorization: 'Bearer t' } as Caller;
}

describe('ownRoleFilter / selfFilter', () => {
  it('confine an agent to its own role and itself, named or not', () => {
    expect(ownRoleFilter(caller('agent'), undefined, 'x')).toBe('finance');
    expect(ownRoleFilter(caller('agent'), 'finance', 'x')).toBe('finance');
    expect(selfFilter(caller('agent'), undefined, 'x')).toBe('finance-agent');
    expect(selfFilter(caller('agent'), 'finance-agent', 'x')).toBe('finance-agent');
  });

  it('refuse an agent naming another role or agent (403)', () => {
    expect(() => ownRoleFilter(caller('agent'), 'legal', 'the counts')).toThrow(AppError);
    expect(() => ownRoleFilter(caller('agent'), 'legal', 'the counts')).toThrow(/belongs to role "legal"/);
    expect(() => selfFilter(caller('agent'), 'legal-agent', 'the usage')).toThrow(
      /names agent "legal-agent"/,
    );
  });

  it('leave admins and viewers with what they named', () => {
    expect(ownRoleFilter(caller('admin'), 'legal', 'x')).toBe('legal');
    expect(ownRoleFilter(caller('viewer'), undefined, 'x')).toBeUndefined();
    expect(selfFilter(caller('admin'), 'legal-agent', 'x')).toBe('legal-agent');
    expect(selfFilter(caller('viewer'), undefined, 'x')).toBeUndefined();
  });
});
