import { get } from '../api';
import type { Page, SessionRow, Task } from '../types';
import { ProblemBanner, Time, useLoad } from '../ui';

interface Line {
  at: string;
  who: string;
  text: string;
}

interface Transition {
  from: string | null;
  to: string;
  event: string;
  actor: string;
  reason: string | null;
  occurredAt: string;
}

interface HistoryEntry {
  event: string;
  from: string | null;
  to: string;
  actor: string;
  reason: string | null;
  occurredAt: string;
}

function label(task: Task): string {
  if (task.kind === 'approval') return `approval “${task.subject ?? ''}”`;
  if (task.kind === 'notification') return 'notification';
  return `task ${task.type ?? ''}`;
}

/**
 * A workflow (contextId) told in order, as the demo prints it: each session's transitions and each
 * task's history (sent, taken, decided, completed), from the sessions and mesh services themselves.
 */
async function loadTimeline(contextId: string): Promise<Line[]> {
  const q = encodeURIComponent(contextId);
  const [sessions, tasks] = await Promise.all([
    get<Page<SessionRow>>(`/v1/sessions?contextId=${q}&limit=50`),
    get<Page<Task>>(`/v1/tasks?contextId=${q}&direction=any&limit=100`),
  ]);
  const lines: Line[] = [];
  await Promise.all([
    ...sessions.items.map(async (s) => {
      const transitions = await get<Page<Transition>>(
        `/v1/sessions/${encodeURIComponent(s.id)}/transitions?limit=200`,
      );
      for (const t of transitions.items) {
        lines.push({
          at: t.occurredAt,
          who: s.agentId,
          text: `session ${t.from ?? 'new'} → ${t.to} (${t.event}${t.reason ? `: ${t.reason}` : ''})`,
        });
      }
    }),
    ...tasks.items.map(async (t) => {
      const full = await get<Task & { history?: HistoryEntry[] }>(`/v1/tasks/${encodeURIComponent(t.id)}`);
      const to = full.to.userId ?? full.to.agentId ?? full.to.role;
      for (const h of full.history ?? []) {
        lines.push({
          at: h.occurredAt,
          who: h.actor,
          text: `${label(full)} ${full.from.agentId ?? full.from.role} → ${to}: ${h.from ?? 'new'} → ${h.to}${h.reason ? ` (${h.reason})` : ''}`,
        });
      }
      if (full.decision) {
        lines.push({
          at: full.decision.decidedAt,
          who: full.decision.decidedBy?.userId ?? full.decision.decidedBy?.agentId ?? '',
          text: `${label(full)} decided: ${full.decision.decision}${full.decision.comment ? ` — “${full.decision.comment}”` : ''}`,
        });
      }
    }),
  ]);
  return lines.sort((a, b) => a.at.localeCompare(b.at));
}

export function WorkflowTimeline({ contextId, version }: { contextId: string; version: number }) {
  const timeline = useLoad(() => loadTimeline(contextId), [contextId, version]);
  return (
    <>
      <ProblemBanner error={timeline.error} />
      {timeline.data && !timeline.data.length ? (
        <p className="muted">Nothing recorded for this workflow.</p>
      ) : null}
      {timeline.data?.length ? (
        <ol className="timeline">
          {timeline.data.map((line, i) => (
            <li key={`${line.at}-${i}`}>
              <Time at={line.at} /> <strong>{line.who}</strong> {line.text}
            </li>
          ))}
        </ol>
      ) : null}
    </>
  );
}
