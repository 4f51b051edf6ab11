import type { EventEnvelope, SessionRow, Task } from '../types';

/** The Sessions & tasks page's search: substrings of agent and role, an exact state, a lower time bound. */
export interface Filters {
  agent: string;
  role: string;
  state: string;
  since: string;
}

export const NO_FILTERS: Filters = { agent: '', role: '', state: '', since: '' };

export function matches(
  f: Filters,
  row: { agent: string; role: string; state: string; at: string },
): boolean {
  const has = (value: string, wanted: string) =>
    !wanted || value.toLowerCase().includes(wanted.trim().toLowerCase());
  if (!has(row.agent, f.agent) || !has(row.role, f.role)) return false;
  if (f.state && row.state !== f.state) return false;
  if (f.since && new Date(row.at).getTime() < new Date(f.since).getTime()) return false;
  return true;
}

/** One line of a workflow's timeline, as the demo prints it: when, what happened, who. */
export function describeEvent(event: EventEnvelope): {
  context: string;
  text: string;
  agent: string;
  role: string;
} {
  const p = (event.payload ?? {}) as Record<string, unknown>;
  if (event.subject.startsWith('sessions.')) {
    return {
      context: String(p['contextId'] ?? ''),
      text: `session ${String(p['agentId'] ?? '')}: ${String(p['from'] ?? 'new')} → ${String(p['to'] ?? p['status'] ?? '')}`,
      agent: String(p['agentId'] ?? ''),
      role: String(p['role'] ?? ''),
    };
  }
  const task = p['task'] as Task | undefined;
  if (task) {
    const to = task.to.userId ?? task.to.agentId ?? task.to.role;
    const label =
      task.kind === 'approval'
        ? `approval "${task.subject ?? ''}"`
        : task.kind === 'notification'
          ? 'notification'
          : `task ${task.type ?? ''}`;
    return {
      context: task.contextId,
      text: `${label} ${task.from.agentId ?? task.from.role} → ${to}: ${task.state}${task.decision ? ` (${task.decision.decision})` : ''}`,
      agent: task.from.agentId ?? '',
      role: task.from.role,
    };
  }
  return { context: '', text: event.subject, agent: '', role: '' };
}

/**
 * A session as a `sessions.v1.transitioned` event tells it (it carries no whole session), over what
 * the page knew of it before.
 */
export function transitioned(
  id: string,
  p: Record<string, unknown>,
  event: EventEnvelope,
  before: SessionRow | undefined,
): SessionRow {
  return {
    id,
    agentId: String(p['agentId'] ?? before?.agentId ?? ''),
    role: String(p['role'] ?? before?.role ?? ''),
    contextId: String(p['contextId'] ?? before?.contextId ?? ''),
    status: String(p['to'] ?? before?.status ?? ''),
    createdAt: before?.createdAt ?? event.publishedAt,
    updatedAt: String(p['occurredAt'] ?? event.publishedAt),
  };
}

const newestFirst = (a: { updatedAt: string }, b: { updatedAt: string }) =>
  b.updatedAt.localeCompare(a.updatedAt);

/** The loaded sessions with what the stream changed since laid over them, filtered, newest first. */
export function sessionRows(
  loaded: SessionRow[],
  live: Map<string, SessionRow>,
  filters: Filters,
): SessionRow[] {
  const merged = new Map(loaded.map((s) => [s.id, s]));
  for (const [id, s] of live) merged.set(id, { ...merged.get(id), ...s });
  return [...merged.values()]
    .filter((s) => matches(filters, { agent: s.agentId, role: s.role, state: s.status, at: s.updatedAt }))
    .sort(newestFirst);
}

/** The loaded tasks, replaced by the stream's newer copies, filtered on either end, newest first. */
export function taskRows(loaded: Task[], live: Map<string, Task>, filters: Filters): Task[] {
  const merged = new Map(loaded.map((t) => [t.id, t]));
  for (const [id, t] of live) merged.set(id, t);
  return [...merged.values()]
    .filter((t) =>
      matches(filters, {
        agent: `${t.from.agentId ?? ''} ${t.assignee?.agentId ?? ''} ${t.to.agentId ?? ''}`,
        role: `${t.from.role} ${t.to.role}`,
        state: t.state,
        at: t.updatedAt,
      }),
    )
    .sort(newestFirst);
}
