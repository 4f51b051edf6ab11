import type { Session } from '@orgmesh/contracts';
import { formatDuration, formatTable } from './format.js';
import { isRunnerSession, isTerminal } from './runner-sessions.js';

function endedAt(session: Session): string | null {
  return session.completedAt ?? session.failedAt ?? session.expiredAt;
}

/** How long it ran: until now while open, until it ended otherwise. */
export function uptimeOf(session: Session, now: number): string {
  const end = isTerminal(session.status) ? Date.parse(endedAt(session) ?? session.lastTransitionAt) : now;
  return formatDuration(end - Date.parse(session.createdAt));
}

export function sourceOf(session: Session): string {
  if (isRunnerSession(session)) return `runner pid ${String(session.metadata['pid'])}`;
  const source = session.metadata['source'];
  return typeof source === 'string' ? source : 'api';
}

/** `orgmesh sessions`: agent, session id, state, uptime, last activity, and who opened it. */
export function renderSessionsTable(sessions: readonly Session[], now: number): string {
  if (sessions.length === 0) return 'no sessions';
  return formatTable(
    ['AGENT', 'SESSION', 'STATE', 'UPTIME', 'LAST ACTIVITY', 'SOURCE'],
    sessions.map((s) => [
      s.agentId,
      s.id,
      s.status,
      uptimeOf(s, now),
      `${formatDuration(now - Date.parse(s.lastTransitionAt))} ago`,
      sourceOf(s),
    ]),
  );
}
