import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { AppError, httpStatusFor, type PolicyKind, type RecipientInput } from '@orgmesh/contracts';
import type { PolicyPort, PolicyVerdict } from '../policy/policy.port.js';
import { parseRecipient, partyOf, recipientOf, resolveRecipient } from './task.recipient.js';

/**
 * The registry's answer as rpc.registry.v1.resolve-policy gives it: a role resolves to itself, an
 * agent to its role, anything else to null (and is denied); finance may send tasks to finance only.
 */
class TableRegistry implements PolicyPort {
  readonly asked: Array<{ from: string; to: string; kind: PolicyKind }> = [];
  private readonly agents: Record<string, string> = {
    'accounts-payable-agent': 'finance',
    'finance-agent': 'finance',
    'legal-agent': 'legal',
  };
  private readonly roles = new Set(['finance', 'legal', 'manager']);

  async resolve(from: string, to: string, kind: PolicyKind): Promise<PolicyVerdict> {
    this.asked.push({ from, to, kind });
    const toRole = this.agents[to] ?? (this.roles.has(to) ? to : null);
    if (toRole === null) return { allowed: false, rule: `default-deny: unknown recipient "${to}"`, toRole };
    const allowed = from === 'finance' && toRole === 'finance' && kind === 'task';
    return { allowed, rule: allowed ? 'finance: send_task_to[0] = finance' : 'default-deny', toRole };
  }

  async managerOf(): Promise<null> {
    return null;
  }
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const finance = { role: 'finance' };
const resolveAs = (to: RecipientInput, sender = finance, kind: PolicyKind = 'task') => {
  const registry = new TableRegistry();
  return { registry, result: resolveRecipient(registry, sender, to, kind) };
};

describe('parseRecipient', () => {
  it('tells the forms apart and asks the registry about the agent whenever one is named', () => {
    expect(parseRecipient('legal')).toEqual({ form: 'id', id: 'legal' });
    expect(parseRecipient({ role: 'legal' })).toEqual({ form: 'role', role: 'legal' });
    expect(parseRecipient({ agentId: 'legal-agent' })).toEqual({
      form: 'agent',
      agentId: 'legal-agent',
      role: null,
    });
    const both = parseRecipient({ role: 'legal', agentId: 'legal-agent' });
    expect(both).toEqual({ form: 'agent', agentId: 'legal-agent', role: 'legal' });
    expect(partyOf(both)).toBe('legal-agent');
    expect(partyOf(parseRecipient({ role: 'legal' }))).toBe('legal');
    // Only a caller that skipped the contract can send {}; it still gets a typed 400.
    expect(() => parseRecipient({})).toThrow('name a role, an agent, or both');
  });
});

describe('recipientOf', () => {
  it('stores a bare id as what it resolved to: an agent with its role, or a role', () => {
    expect(recipientOf(parseRecipient('accounts-payable-agent'), 'finance')).toEqual({
      role: 'finance',
      agentId: 'accounts-payable-agent',
    });
    expect(recipientOf(parseRecipient('legal'), 'legal')).toEqual({ role: 'legal', agentId: null });
  });

  it('refuses a name the registry does not know, naming the field', () => {
    for (const [to, path] of [
      ['nobody', 'to'],
      [{ role: 'nobody' }, 'to.role'],
      [{ agentId: 'nobody' }, 'to.agentId'],
    ] as const) {
      let error: unknown;
      try {
        recipientOf(parseRecipient(to), null);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('validation_failed');
      expect((error as AppError).details).toEqual({
        issues: [{ path, message: expect.stringContaining('"nobody"') }],
      });
    }
  });

  it('refuses an agent named as a role and a role named as an agent', () => {
    expect(() => recipientOf(parseRecipient({ role: 'legal-agent' }), 'legal')).toThrow(
      '"legal-agent" is an agent, not a role',
    );
    expect(() => recipientOf(parseRecipient({ agentId: 'legal' }), 'legal')).toThrow(
      '"legal" is a role, not an agent',
    );
  });

  it('keeps {role, agentId} to an agent of that role', () => {
    expect(recipientOf(parseRecipient({ role: 'legal', agentId: 'legal-agent' }), 'legal')).toEqual({
      role: 'legal',
      agentId: 'legal-agent',
    });
    expect(() => recipientOf(parseRecipient({ role: 'legal', agentId: 'finance-agent' }), 'finance')).toThrow(
      'agent finance-agent does not act for role legal',
    );
  });
});

describe('resolveRecipient', () => {
  it('asks the registry once, about the agent, and returns what the policy was evaluated for', async () => {
    const { registry, result } = resolveAs('accounts-payable-agent');
    const { to, verdict } = await result;
    expect(to).toEqual({ role: 'finance', agentId: 'accounts-payable-agent' });
    expect(verdict).toMatchObject({ allowed: true, toRole: 'finance' });
    expect(registry.asked).toEqual([{ from: 'finance', to: 'accounts-payable-agent', kind: 'task' }]);

    const byObject = resolveAs({ agentId: 'accounts-payable-agent' });
    expect((await byObject.result).to).toEqual(to);
    expect(byObject.registry.asked).toEqual(registry.asked);
    expect((await resolveAs('finance').result).to).toEqual({ role: 'finance', agentId: null });
  });

  it('refuses an unknown recipient with 400 naming `to`, not as a policy denial', async () => {
    const error = await refusal(resolveAs('accounts-payable').result);
    expect(error.code).toBe('validation_failed');
    expect(error.details).toEqual({
      issues: [{ path: 'to', message: 'no agent or role "accounts-payable" in the registry' }],
    });
  });

  it('checks the policy for the resolved party before the form, so another role cannot be probed', async () => {
    const denied = await refusal(resolveAs({ role: 'finance', agentId: 'legal-agent' }).result);
    expect(denied.code).toBe('policy_denied');
    expect(denied.details).toMatchObject({ from: 'finance', to: 'legal-agent', kind: 'task' });

    const manager = { role: 'manager' };
    const deniedToo = await refusal(resolveAs('accounts-payable-agent', manager).result);
    expect(deniedToo.code).toBe('policy_denied');

    const wrongRole = await refusal(resolveAs({ role: 'legal', agentId: 'finance-agent' }).result);
    expect(wrongRole.code).toBe('validation_failed');
    expect(wrongRole.details).toEqual({
      issues: [{ path: 'to.agentId', message: 'not an agent of role legal' }],
    });
  });
});

describe('resolveRecipient over any registry and any way of naming', () => {
  // A few agents and roles (disjoint, as the registry guarantees) and names nobody has.
  const roles = ['finance', 'legal', 'manager'];
  const agents: Record<string, string> = {
    'ap-agent': 'finance',
    'counsel-agent': 'legal',
    'boss-agent': 'manager',
  };
  const names = [...roles, ...Object.keys(agents), 'ghost', 'ghost-agent'];
  const name = fc.constantFrom(...names);
  const input: fc.Arbitrary<RecipientInput> = fc.oneof(
    name,
    name.map((role) => ({ role })),
    name.map((agentId) => ({ agentId })),
    fc.tuple(name, name).map(([role, agentId]) => ({ role, agentId })),
  );

  /** The oracle, written from the rule rather than the code: whom `to` addresses, or undefined if nobody. */
  function addressee(to: RecipientInput): { role: string; agentId: string | null } | undefined {
    const isRole = (id: string) => roles.includes(id);
    if (typeof to === 'string')
      return isRole(to)
        ? { role: to, agentId: null }
        : agents[to]
          ? { role: agents[to], agentId: to }
          : undefined;
    if (to.agentId === undefined)
      return to.role !== undefined && isRole(to.role) ? { role: to.role, agentId: null } : undefined;
    const role = agents[to.agentId];
    if (role === undefined || (to.role !== undefined && to.role !== role)) return undefined;
    return { role, agentId: to.agentId };
  }

  it('stores exactly whom the registry says was named, asking once, or refuses with a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(input, fc.constantFrom(...roles), async (to, senderRole) => {
        const asked: string[] = [];
        const registry: PolicyPort = {
          resolve: async (_from, id) => {
            asked.push(id);
            return { allowed: true, rule: 'allow', toRole: agents[id] ?? (roles.includes(id) ? id : null) };
          },
          managerOf: async () => null,
        };
        const expected = addressee(to);
        const outcome = await resolveRecipient(registry, { role: senderRole }, to, 'task').then(
          ({ to: stored }) => stored,
          (error: unknown) => error,
        );
        expect(asked).toHaveLength(1);
        if (expected) {
          expect(outcome).toEqual(expected);
          // The policy was asked about exactly the party that is stored.
          expect(asked[0]).toBe(expected.agentId ?? expected.role);
        } else {
          expect(outcome).toBeInstanceOf(AppError);
          expect(httpStatusFor((outcome as AppError).code)).toBe(400);
        }
      }),
      { numRuns: 500 },
    );
  });
});
