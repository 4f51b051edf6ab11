import { useEffect, useMemo, useState } from 'react';
import { get } from '../api';
import { followEvents, type StreamState } from '../events';
import type { EventEnvelope, Page, SessionRow, Task } from '../types';
import { useLoad } from '../ui';
import { describeEvent, sessionRows, taskRows, transitioned, type Filters } from './activity-rows';

export interface StreamStatus {
  state: StreamState;
  detail?: string;
}

/** Every event since the page opened (newest first, at most 500), and the sessions and tasks they carry. */
function useActivityStream() {
  const [liveSessions, setLiveSessions] = useState<Map<string, SessionRow>>(new Map());
  const [liveTasks, setLiveTasks] = useState<Map<string, Task>>(new Map());
  const [events, setEvents] = useState<EventEnvelope[]>([]);
  const [stream, setStream] = useState<StreamStatus>({ state: 'connecting' });

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
            setLiveSessions((m) => new Map(m).set(id, transitioned(id, p, event, m.get(id))));
          }
        },
        (state, detail) => setStream({ state, detail }),
      ),
    [],
  );
  return { liveSessions, liveTasks, events, stream };
}

/**
 * The Sessions & tasks page's data: the first 100 sessions and tasks as loaded, kept current by the
 * event stream and filtered; the events themselves; the stream's state.
 */
export function useActivity(filters: Filters) {
  const sessions = useLoad(() => get<Page<SessionRow>>('/v1/sessions?limit=100'), []);
  const tasks = useLoad(() => get<Page<Task>>('/v1/tasks?limit=100&direction=any'), []);
  const { liveSessions, liveTasks, events, stream } = useActivityStream();
  const sessionList = useMemo(
    () => sessionRows(sessions.data?.items ?? [], liveSessions, filters),
    [sessions.data, liveSessions, filters],
  );
  const taskList = useMemo(
    () => taskRows(tasks.data?.items ?? [], liveTasks, filters),
    [tasks.data, liveTasks, filters],
  );
  return {
    sessions: { rows: sessionList, error: sessions.error },
    tasks: { rows: taskList, error: tasks.error },
    events,
    stream,
  };
}

/** The events as timeline lines (oldest first), and a count that changes when the selected workflow gets one. */
export function useTimeline(events: EventEnvelope[], context: string) {
  const timeline = useMemo(() => events.map((e) => ({ event: e, ...describeEvent(e) })).reverse(), [events]);
  // The selected workflow's timeline reloads when one of its own events arrives.
  const contextEvents = useMemo(
    () => (context ? events.filter((e) => describeEvent(e).context === context).length : 0),
    [events, context],
  );
  return { timeline, contextEvents };
}
