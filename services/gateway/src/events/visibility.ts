import type { Caller } from '../auth/caller.js';

/** Fields whose value names a party: a role or agent id string, or an object with `role` / `agentId`. */
const PARTY_FIELDS = ['role', 'agentId', 'from', 'to', 'assignee', 'decidedBy', 'escalatedTo'] as const;
/** Nested objects whose parties count as the event's (a task change carries `task`, a registry event `agent`). */
const NESTED = ['task', 'agent', 'session', 'profile', 'decision'] as const;

function addParty(value: unknown, into: Set<string>): void {
  if (typeof value === 'string') {
    into.add(value);
    return;
  }
  if (typeof value === 'object' && value !== null) {
    const { role, agentId } = value as { role?: unknown; agentId?: unknown };
    if (typeof role === 'string') into.add(role);
    if (typeof agentId === 'string') into.add(agentId);
  }
}

function collect(payload: Record<string, unknown>, into: Set<string>): void {
  for (const field of PARTY_FIELDS) addParty(payload[field], into);
}

/** The roles and agent ids an event concerns: sessions by their role and agent, tasks by sender, recipient and assignee. */
export function partiesOf(payload: unknown): Set<string> {
  const parties = new Set<string>();
  if (typeof payload !== 'object' || payload === null) return parties;
  const record = payload as Record<string, unknown>;
  collect(record, parties);
  for (const key of NESTED) {
    const nested = record[key];
    if (typeof nested === 'object' && nested !== null) collect(nested as Record<string, unknown>, parties);
  }
  return parties;
}

/**
 * Who may see a lifecycle event: admins and viewers everything; an agent only events that concern
 * its role or itself (its role's sessions and tasks). An event naming no party is not an agent's.
 */
export function isVisibleTo(caller: Caller, payload: unknown): boolean {
  if (caller.kind !== 'agent') return true;
  const parties = partiesOf(payload);
  return parties.has(caller.role) || parties.has(caller.subject);
}
