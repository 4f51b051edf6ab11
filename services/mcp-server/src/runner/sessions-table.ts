import type { Session } from '@orgmesh/contracts';
import { formatDuration, formatTable } from './format.js';
import { isRunnerSession, isTerminal } from './runner-sessions.js';

function endedAt(session: Session): string | null {
  return session.completedAt ?? session.failedAt ?? session.expiredAt;
}

/**
 * How long it ran: until now while open, from start to end once ended. An ended session's duration is
 * exact below 10 s (`420ms`, `3.2s`): mesh sessions often last under a second, and "0s" read as "never ran".
 */
export function uptimeOf(session: Session, now: number): string {
  const ended = isTerminal(session.status);
  const end = ended ? Date.parse(endedAt(session) ?? session.lastTransitionAt) : now;
  const ms = Math.max(0, end - Date.parse(session.createdAt));
  if (ended && ms < 1_000) return `${Math.round(ms)}ms`;
  if (ended && ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  return formatDuration(ms);
}

export function sourceOf(session: Session): string {
  if (isRunnerSession(session)) return `runner pid ${String(session.metadata['pid'])}`;
  const source = session.metadata['source'];
  return typeof source === 'string' ? source : 'api';
}

/** `orgmesh sessions`: agent, session id, state, duration, last activity, and who opened it. */
export function renderSessionsTable(sessions: readonly Session[], now: number): string {
  if (sessions.length === 0) return 'no sessions';
  return formatTable(
    ['AGENT', 'SESSION', 'STATE', 'DURATION', 'LAST ACTIVITY', 'SOURCE'],
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
