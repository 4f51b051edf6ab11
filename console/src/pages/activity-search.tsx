import type { StreamStatus } from './activity-feed';
import type { Filters } from './activity-rows';
import { Section } from '../ui';

/** The states a session or a task can be in, for the search's State select. */
const STATES = [
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
];

/** The search form over the sessions and tasks, and the live stream's state. */
export function ActivitySearch({
  filters,
  onChange,
  stream,
}: {
  filters: Filters;
  onChange: (filters: Filters) => void;
  stream: StreamStatus;
}) {
  const field = (name: keyof Filters, label: string, type = 'search') => (
    <label>
      {label}
      <input
        type={type}
        value={filters[name]}
        onChange={(e) => onChange({ ...filters, [name]: e.target.value })}
      />
    </label>
  );
  return (
    <Section title="Search">
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        {field('agent', 'Agent')}
        {field('role', 'Role')}
        <label>
          State
          <select value={filters.state} onChange={(e) => onChange({ ...filters, state: e.target.value })}>
            <option value="">any</option>
            {STATES.map((s) => (
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
  );
}
