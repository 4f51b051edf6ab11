import { canSeeSession, canSeeTask, type TaskParties } from '@orgmesh/contracts';
import { observerOf, type Caller } from '../auth/caller.js';
import type { EventContext } from './subscription.js';

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

/** The roles and agent ids a registry event names (its agent, profile or role). */
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** A task event's `task`, when it has the parts the rule reads (anything else is nobody's). */
function taskOf(payload: unknown): TaskParties | undefined {
  const task = isRecord(payload) ? payload['task'] : undefined;
  if (!isRecord(task) || !isRecord(task['from']) || !isRecord(task['to'])) return undefined;
  return task as unknown as TaskParties;
}

/**
 * Who may see a lifecycle event, live or replayed: admins and viewers everything. An agent sees a
 * task event iff it may see the task (`canSeeTask`, the rule `GET /v1/tasks/{id}` and the list's
 * SQL apply), a session event iff the session is its own (`canSeeSession`), and a registry event
 * that names its role or itself. An event it cannot read a party from is not an agent's.
 */
export function isVisibleTo(caller: Caller, context: EventContext, payload: unknown): boolean {
  if (caller.kind === 'admin' || caller.kind === 'viewer') return true;
  // A person (issue 23) is held to the agent rule: none of the parties is their user id.
  const observer = observerOf(caller);
  switch (context) {
    case 'mesh': {
      const task = taskOf(payload);
      return task !== undefined && canSeeTask(task, observer);
    }
    case 'sessions': {
      const agentId = isRecord(payload) ? payload['agentId'] : undefined;
      return typeof agentId === 'string' && canSeeSession({ agentId }, observer);
    }
    case 'registry': {
      const parties = partiesOf(payload);
      return parties.has(caller.role) || parties.has(caller.subject);
    }
  }
}
