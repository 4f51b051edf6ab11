import { useEffect, useMemo, useState } from 'react';
import { get } from '../api';
import { followEvents, type StreamState } from '../events';
import type { EventEnvelope, Page, SessionRow, Task } from '../types';
import { WorkflowTimeline } from './Timeline';
import { OperatorsOnly, ProblemBanner, Section, StateBadge, Time, useLoad } from '../ui';

interface Filters {
  agent: string;
  role: string;
  state: string;
  since: string;
}

function matches(f: Filters, row: { agent: string; role: string; state: string; at: string }): boolean {
  const has = (value: string, wanted: string) =>
    !wanted || value.toLowerCase().includes(wanted.trim().toLowerCase());
  if (!has(row.agent, f.agent) || !has(row.role, f.role)) return false;
  if (f.state && row.state !== f.state) return false;
  if (f.since && new Date(row.at).getTime() < new Date(f.since).getTime()) return false;
  return true;
}

/** One line of a workflow's timeline, as the demo prints it: when, what happened, who. */
function describe(event: EventEnvelope): { context: string; text: string; agent: string; role: string } {
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

export function ActivityPage() {
  const [filters, setFilters] = useState<Filters>({ agent: '', role: '', state: '', since: '' });
  const sessions = useLoad(() => get<Page<SessionRow>>('/v1/sessions?limit=100'), []);
  const tasks = useLoad(() => get<Page<Task>>('/v1/tasks?limit=100&direction=any'), []);
  const [liveSessions, setLiveSessions] = useState<Map<string, SessionRow>>(new Map());
  const [liveTasks, setLiveTasks] = useState<Map<string, Task>>(new Map());
  const [events, setEvents] = useState<EventEnvelope[]>([]);
  const [stream, setStream] = useState<{ state: StreamState; detail?: string }>({ state: 'connecting' });
  const [context, setContext] = useState<string>('');

  useEffect(
    () =>
      followEvents(
        (event) => {
          setEvents((list) => [event, ...list].slice(0, 500));
          const p = (event.payload ?? {}) as Record<string, unknown>;
          const task = p['task'] as Task | undefined;
          if (task) setLiveTasks((m) => new Map(m).set(task.id, task));
          const session = (p['session'] ?? undefined) as SessionRow | undefined;
          if (session?.id) setLiveSessions((m) => new Map(m).set(session.id, session));
          else if (event.subject === 'sessions.v1.transitioned' && typeof p['sessionId'] === 'string') {
            const id = p['sessionId'];
            setLiveSessions((m) => {
              const before = m.get(id);
              const next = new Map(m);
              next.set(id, {
                id,
                agentId: String(p['agentId'] ?? before?.agentId ?? ''),
                role: String(p['role'] ?? before?.role ?? ''),
                contextId: String(p['contextId'] ?? before?.contextId ?? ''),
                status: String(p['to'] ?? before?.status ?? ''),
                createdAt: before?.createdAt ?? event.publishedAt,
                updatedAt: String(p['occurredAt'] ?? event.publishedAt),
              });
              return next;
            });
          }
        },
        (state, detail) => setStream({ state, detail }),
      ),
    [],
  );

  const sessionRows = useMemo(() => {
    const merged = new Map((sessions.data?.items ?? []).map((s) => [s.id, s]));
    for (const [id, s] of liveSessions) merged.set(id, { ...merged.get(id), ...s });
    return [...merged.values()]
      .filter((s) => matches(filters, { agent: s.agentId, role: s.role, state: s.status, at: s.updatedAt }))
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  }, [sessions.data, liveSessions, filters]);

  const taskRows = useMemo(() => {
    const merged = new Map((tasks.data?.items ?? []).map((t) => [t.id, t]));
    for (const [id, t] of liveTasks) merged.set(id, t);
    return [...merged.values()]
      .filter((t) =>
        matches(filters, {
          agent: `${t.from.agentId ?? ''} ${t.assignee?.agentId ?? ''} ${t.to.agentId ?? ''}`,
          role: `${t.from.role} ${t.to.role}`,
          state: t.state,
          at: t.updatedAt,
        }),
      )
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  }, [tasks.data, liveTasks, filters]);

  const timeline = useMemo(() => events.map((e) => ({ event: e, ...describe(e) })).reverse(), [events]);

  // The selected workflow's timeline reloads when one of its own events arrives.
  const contextEvents = useMemo(
    () => (context ? events.filter((e) => describe(e).context === context).length : 0),
    [events, context],
  );

  const field = (name: keyof Filters, label: string, type = 'search') => (
    <label>
      {label}
      <input
        type={type}
        value={filters[name]}
        onChange={(e) => setFilters({ ...filters, [name]: e.target.value })}
      />
    </label>
  );

  return (
    <>
      <OperatorsOnly />
      <Section title="Search">
        <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
          {field('agent', 'Agent')}
          {field('role', 'Role')}
          <label>
            State
            <select value={filters.state} onChange={(e) => setFilters({ ...filters, state: e.target.value })}>
              <option value="">any</option>
              {[
                'pending',
                'active',
                'paused',
                'completed',
                'failed',
                'expired',
                'submitted',
                'working',
                'input-required',
                'rejected',
                'canceled',
              ].map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          {field('since', 'Since', 'datetime-local')}
        </form>
        <p className="stream" role="status">
          Live stream: <strong className={`stream-${stream.state}`}>{stream.state}</strong>
          {stream.detail ? <span className="muted"> ({stream.detail})</span> : null}
        </p>
      </Section>
      <Section title={`Sessions (${sessionRows.length})`}>
        <ProblemBanner error={sessions.error} />
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">Role</th>
                <th scope="col">State</th>
                <th scope="col">Workflow</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {sessionRows.slice(0, 200).map((s) => (
                <tr key={s.id}>
                  <td>{s.agentId}</td>
                  <td>{s.role}</td>
                  <td>
                    <StateBadge state={s.status} />
                  </td>
                  <td>
                    <WorkflowLink contextId={s.contextId} onOpen={setContext} />
                  </td>
                  <td>
                    <Time at={s.updatedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
      <Section title={`Tasks (${taskRows.length})`}>
        <ProblemBanner error={tasks.error} />
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">What</th>
                <th scope="col">From</th>
                <th scope="col">To</th>
                <th scope="col">State</th>
                <th scope="col">Workflow</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {taskRows.slice(0, 200).map((t) => (
                <tr key={t.id}>
                  <td>{t.kind}</td>
                  <td>{t.subject ?? t.type ?? t.message ?? ''}</td>
                  <td>{t.from.agentId ?? t.from.role}</td>
                  <td>{t.to.userId ?? t.to.agentId ?? t.to.role}</td>
                  <td>
                    <StateBadge state={t.state} />
                  </td>
                  <td>
                    <WorkflowLink contextId={t.contextId} onOpen={setContext} />
                  </td>
                  <td>
                    <Time at={t.updatedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Section>
      <Section
        title={context ? `Timeline of workflow ${context}` : 'Events (every event since this page opened)'}
        actions={
          context ? (
            <button type="button" onClick={() => setContext('')}>
              All workflows
            </button>
          ) : undefined
        }
      >
        {context ? <WorkflowTimeline contextId={context} version={contextEvents} /> : null}
        {context ? null : timeline.length ? (
          <ol className="timeline">
            {timeline.map(({ event, text }) => (
              <li key={`${event.subject}-${event.sequence}`}>
                <Time at={event.publishedAt} /> <code>{event.subject}</code> {text}
              </li>
            ))}
          </ol>
        ) : (
          <p className="muted">No events yet: they appear here as they happen.</p>
        )}
      </Section>
    </>
  );
}

/** A workflow id that opens its timeline (sessions and tasks tables). */
function WorkflowLink({ contextId, onOpen }: { contextId: string; onOpen: (contextId: string) => void }) {
  return (
    <button
      type="button"
      className="link"
      onClick={() => onOpen(contextId)}
      title="Show this workflow's timeline"
    >
      {contextId}
    </button>
  );
}
