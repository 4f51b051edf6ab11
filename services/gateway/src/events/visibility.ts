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
 * A person's rule needs the mesh's answer (`isVisibleToPerson`); without it a person sees only
 * their own sessions here.
 */
export function isVisibleTo(caller: Caller, context: EventContext, payload: unknown): boolean {
  if (caller.kind === 'admin' || caller.kind === 'viewer') return true;
  const observer = observerOf(caller);
  switch (context) {
    case 'mesh': {
      if (caller.kind === 'person') return false;
      const task = taskOf(payload);
      return task !== undefined && canSeeTask(task, observer);
    }
    case 'sessions': {
      const agentId = isRecord(payload) ? payload['agentId'] : undefined;
      return typeof agentId === 'string' && canSeeSession({ agentId }, observer);
    }
    case 'registry': {
      if (caller.kind === 'person') return false;
      const parties = partiesOf(payload);
      return parties.has(caller.role) || parties.has(caller.subject);
    }
  }
}

/** The mesh's answer: which of these task ids the person may follow (rpc.mesh.v1.person-approval-visibility). */
export type FollowedApprovals = (taskIds: string[]) => Promise<readonly string[]>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A signed-in person (issue 23, ADR 0019) sees the task changes of the approvals the mesh says they
 * may follow (routed to them in any step, decided by or for them, or waiting for someone who
 * delegated to them now) and their own sessions; no other task, no registry event. Not the agent
 * rule: a person's token role would match every task escalated to a role of that name. The
 * payload's parties are never trusted for a person: only its task id is read, and the mesh decides.
 */
export async function isVisibleToPerson(
  caller: Caller,
  context: EventContext,
  payload: unknown,
  followed: FollowedApprovals,
): Promise<boolean> {
  if (context !== 'mesh') return isVisibleTo(caller, context, payload);
  const task = isRecord(payload) ? payload['task'] : undefined;
  if (!isRecord(task) || task['kind'] !== 'approval') return false;
  const id = task['id'];
  if (typeof id !== 'string' || !UUID.test(id)) return false;
  return (await followed([id])).includes(id);
}
