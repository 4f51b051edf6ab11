/**
 * What the list tools answer by default: one small object per item with its id, so a model can scan
 * a page without spending its context on it (the full agent list was ~28,000 characters). The full
 * records stay one call away: `detail: true`, `get_agent`, `fetch_status`.
 */

/** Longest description or message kept in a summary; the rest is behind the detail calls. */
export const SUMMARY_TEXT_MAX = 100;

export function clip(text: string, max = SUMMARY_TEXT_MAX): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

/**
 * A record without its null members: absent says the same and costs nothing. Top level only: inside
 * an `input`, `result` or `details` a null is what an agent wrote, and stays.
 */
export function withoutNulls(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, member]) => member !== null));
}

interface AgentItem {
  readonly agent: { id: string; role: string; displayName: string; description: string };
  readonly presence: { online: boolean; drift: boolean };
}

export interface AgentSummary {
  readonly id: string;
  readonly role: string;
  readonly name: string;
  readonly about: string;
  readonly online: boolean;
  /** Present only when the agent runs a config the registry did not render. */
  readonly drift?: true;
}

export function agentSummary({ agent, presence }: AgentItem): AgentSummary {
  return {
    id: agent.id,
    role: agent.role,
    name: agent.displayName,
    about: clip(agent.description),
    online: presence.online,
    ...(presence.drift ? { drift: true as const } : {}),
  };
}

interface TaskLike {
  readonly id: string;
  readonly kind: string;
  readonly state: string;
  readonly priority: string;
  readonly from: { agentId: string; role: string };
  readonly to: { role: string; agentId: string | null };
  readonly type: string | null;
  readonly subject: string | null;
  readonly message: string | null;
  readonly contextId: string;
  readonly deadline: string;
  readonly updatedAt: string;
  readonly decision: { decision: string } | null;
}

export interface TaskSummary {
  readonly id: string;
  readonly kind: string;
  readonly state: string;
  readonly priority: string;
  /** The sending agent. */
  readonly from: string;
  /** The recipient agent, or the role whose inbox it is in. */
  readonly to: string;
  /** The task's type, the approval's subject or the notification's text (clipped). */
  readonly what: string;
  readonly contextId: string;
  readonly deadline: string;
  readonly updatedAt: string;
  readonly decision?: string;
}

export function taskSummary(task: TaskLike): TaskSummary {
  return {
    id: task.id,
    kind: task.kind,
    state: task.state,
    priority: task.priority,
    from: task.from.agentId,
    to: task.to.agentId ?? task.to.role,
    what: clip(task.type ?? task.subject ?? task.message ?? ''),
    contextId: task.contextId,
    deadline: task.deadline,
    updatedAt: task.updatedAt,
    ...(task.decision ? { decision: task.decision.decision } : {}),
  };
}

/** A page of the gateway (`{items, nextCursor}`) with its items summarised. */
export function summarisePage<T, S>(
  page: { items: readonly T[]; nextCursor: string | null },
  summarise: (item: T) => S,
): { items: S[]; nextCursor: string | null } {
  return { items: page.items.map(summarise), nextCursor: page.nextCursor };
}
