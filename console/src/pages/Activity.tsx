import { useState } from 'react';
import type { EventEnvelope } from '../types';
import { WorkflowTimeline } from './Timeline';
import { OperatorsOnly, Section, Time } from '../ui';
import { useActivity, useTimeline } from './activity-feed';
import { NO_FILTERS, type Filters } from './activity-rows';
import { ActivitySearch } from './activity-search';
import { SessionsTable, TasksTable } from './activity-tables';

export function ActivityPage() {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const { sessions, tasks, events, stream } = useActivity(filters);
  const [context, setContext] = useState<string>('');
  return (
    <>
      <OperatorsOnly />
      <ActivitySearch filters={filters} onChange={setFilters} stream={stream} />
      <SessionsTable rows={sessions.rows} error={sessions.error} onOpen={setContext} />
      <TasksTable rows={tasks.rows} error={tasks.error} onOpen={setContext} />
      <EventsSection events={events} context={context} onClose={() => setContext('')} />
    </>
  );
}

/** Every event since the page opened, or the selected workflow's timeline from the services. */
function EventsSection({
  events,
  context,
  onClose,
}: {
  events: EventEnvelope[];
  context: string;
  onClose: () => void;
}) {
  const { timeline, contextEvents } = useTimeline(events, context);
  return (
    <Section
      title={context ? `Timeline of workflow ${context}` : 'Events (every event since this page opened)'}
      actions={
        context ? (
          <button type="button" onClick={onClose}>
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
  );
}
