import { useState } from 'react';
import { get } from '../api';
import { Table } from '../table';
import type { Agent, Page, Presence } from '../types';
import { Json, OperatorsOnly, ProblemBanner, Section, Time, useLoad } from '../ui';

interface AgentDetail {
  agent: Agent;
  profileId: string | null;
  presence: Presence;
  expectedConfigHashes: Record<string, string>;
}
interface Drift {
  drift: boolean;
  online: boolean;
  lastSeenAt: string | null;
  reportedConfigHash: string | null;
  expectedConfigHashes: Record<string, string>;
}
interface Rendered {
  format: string;
  files: Array<{ path: string; content: string }>;
  configHash: string;
  warnings: string[];
}

function AgentView({ id }: { id: string }) {
  const [chosen, setFormat] = useState<string>();
  const detail = useLoad(() => get<AgentDetail>(`/v1/agents/${encodeURIComponent(id)}`), [id]);
  // The formats the registry renders for this agent (its model's provider decides: Claude Code speaks Anthropic only).
  const formats = Object.keys(detail.data?.expectedConfigHashes ?? {});
  const format = chosen && formats.includes(chosen) ? chosen : formats[0];
  const drift = useLoad(() => get<Drift>(`/v1/agents/${encodeURIComponent(id)}/drift`), [id]);
  const profileId = detail.data?.profileId;
  const profile = useLoad(
    () =>
      profileId
        ? get<{ profile: unknown }>(`/v1/profiles/${encodeURIComponent(profileId)}`)
        : Promise.resolve(undefined),
    [profileId],
  );
  const config = useLoad(
    () =>
      format
        ? get<Rendered>(`/v1/agents/${encodeURIComponent(id)}/config?format=${encodeURIComponent(format)}`)
        : Promise.resolve(undefined),
    [id, format],
  );
  return (
    <Section title={`Agent ${id}`}>
      <ProblemBanner error={detail.error ?? drift.error} />
      {drift.data ? (
        <dl className="facts">
          <dt>Presence</dt>
          <dd>{drift.data.online ? 'online' : 'offline'}</dd>
          <dt>Last seen</dt>
          <dd>
            <Time at={drift.data.lastSeenAt} />
          </dd>
          <dt>Drift</dt>
          <dd className={drift.data.drift ? 'overdue' : undefined}>
            {drift.data.drift ? 'yes: the running config differs from the rendered one' : 'none'}
          </dd>
          <dt>Reported config</dt>
          <dd>
            <code>{drift.data.reportedConfigHash ?? '—'}</code>
          </dd>
        </dl>
      ) : null}
      <h3>Effective profile {profileId ? <code>{profileId}</code> : null}</h3>
      <ProblemBanner error={profile.error} />
      <Json value={profile.data?.profile} />
      <h3>Rendered config</h3>
      <label>
        Format{' '}
        <select value={format ?? ''} onChange={(e) => setFormat(e.target.value)}>
          {formats.map((f) => (
            <option key={f}>{f}</option>
          ))}
        </select>
      </label>
      <ProblemBanner error={config.error} />
      {config.data?.files.map((file) => (
        <details key={file.path}>
          <summary>
            <code>{file.path}</code>
          </summary>
          <pre className="json">{file.content}</pre>
        </details>
      ))}
      {config.data?.warnings.length ? (
        <p className="muted">Warnings: {config.data.warnings.join('; ')}</p>
      ) : null}
    </Section>
  );
}

export function AgentsPage() {
  const [filter, setFilter] = useState('');
  const [selected, setSelected] = useState<string>();
  const list = useLoad(() => get<Page<{ agent: Agent; presence: Presence }>>('/v1/agents?limit=200'), []);
  const rows = (list.data?.items ?? []).filter(
    ({ agent }) => !filter || `${agent.id} ${agent.role}`.toLowerCase().includes(filter.trim().toLowerCase()),
  );
  return (
    <>
      <OperatorsOnly />
      <div className="split">
        <Section title={`Agents (${rows.length})`}>
          <label>
            Search by agent or role{' '}
            <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
          </label>
          <ProblemBanner error={list.error} />
          <Table
            columns={[
              {
                head: 'Agent',
                cell: ({ agent }) => (
                  <button type="button" className="link" onClick={() => setSelected(agent.id)}>
                    {agent.id}
                  </button>
                ),
              },
              { head: 'Role', cell: ({ agent }) => agent.role },
              { head: 'Presence', cell: ({ presence }) => (presence.online ? 'online' : 'offline') },
              {
                head: 'Drift',
                cell: ({ presence }) => (presence.drift ? <span className="overdue">drift</span> : 'none'),
              },
            ]}
            rows={rows}
            rowKey={({ agent }) => agent.id}
            rowProps={({ agent }) => ({ 'aria-selected': selected === agent.id })}
          />
        </Section>
        {selected ? (
          <AgentView id={selected} />
        ) : (
          <p className="muted">Choose an agent to see its profile and config.</p>
        )}
      </div>
    </>
  );
}
