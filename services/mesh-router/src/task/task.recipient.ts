import type { PolicyKind, RecipientInput, TaskRecipient } from '@orgmesh/contracts';
import type { PolicyPort, PolicyVerdict } from '../policy/policy.port.js';
import {
  agentNotOfRole,
  noRecipient,
  policyDenied,
  recipientOfOtherKind,
  unknownRecipient,
  type RecipientPath,
} from './task.errors.js';

/** What the caller named, before the registry says what it is. */
export type NamedRecipient =
  /** A bare string: an agent id or a role id, the caller need not say which. */
  | { form: 'id'; id: string }
  | { form: 'role'; role: string }
  /** `role`: the role the caller requires the agent to act for, when it named one. */
  | { form: 'agent'; agentId: string; role: string | null };

/** The one reading of `to`: which form the caller used. Pure; the registry is asked next. */
export function parseRecipient(input: RecipientInput): NamedRecipient {
  if (typeof input === 'string') return { form: 'id', id: input };
  if (input.agentId !== undefined) return { form: 'agent', agentId: input.agentId, role: input.role ?? null };
  if (input.role !== undefined) return { form: 'role', role: input.role };
  // The contract already refuses this; kept so a caller bypassing it still gets a typed 400.
  throw noRecipient();
}

/**
 * The id the registry is asked about: the agent when one is named (the registry applies that
 * agent's role's rules and answers its role), else the role or the bare id.
 */
export function partyOf(named: NamedRecipient): string {
  return named.form === 'id' ? named.id : named.form === 'role' ? named.role : named.agentId;
}

function pathOf(named: NamedRecipient): RecipientPath {
  return named.form === 'id' ? 'to' : named.form === 'role' ? 'to.role' : 'to.agentId';
}

/**
 * Turns what the registry resolved `partyOf(named)` to (the role it acts for, or null when the
 * registry knows no such agent or role) into the recipient that is stored. The registry keeps agent
 * and role ids disjoint (its validator refuses an agent id that is also a role id), so an id that
 * resolves to itself is a role and any other resolved id is an agent of the role it resolved to.
 */
export function recipientOf(named: NamedRecipient, resolvedRole: string | null): TaskRecipient {
  const party = partyOf(named);
  if (resolvedRole === null) throw unknownRecipient(pathOf(named), party);
  const isRole = resolvedRole === party;
  switch (named.form) {
    case 'id':
      return isRole ? { role: party, agentId: null } : { role: resolvedRole, agentId: party };
    case 'role':
      if (!isRole) throw recipientOfOtherKind('to.role', party);
      return { role: party, agentId: null };
    case 'agent':
      if (isRole) throw recipientOfOtherKind('to.agentId', party);
      if (named.role !== null && named.role !== resolvedRole) throw agentNotOfRole(party, named.role);
      return { role: resolvedRole, agentId: party };
  }
}

/**
 * Resolves `to` against the registry and checks the policy for the result, with one registry
 * question (answered from the policy cache when it can be). The returned recipient is what the
 * policy was evaluated for and what is stored and delivered to. Order: a recipient nobody knows
 * (400), then the policy (403, so naming an agent of another role cannot probe past it), then a
 * recipient named in the wrong form or with the wrong role (400).
 */
export async function resolveRecipient(
  policy: PolicyPort,
  sender: { role: string },
  input: RecipientInput,
  kind: PolicyKind,
): Promise<{ to: TaskRecipient; verdict: PolicyVerdict }> {
  const named = parseRecipient(input);
  const party = partyOf(named);
  const verdict = await policy.resolve(sender.role, party, kind);
  if (verdict.toRole === null) throw unknownRecipient(pathOf(named), party);
  if (!verdict.allowed) throw policyDenied(verdict.rule, sender.role, party, kind);
  return { to: recipientOf(named, verdict.toRole), verdict };
}
