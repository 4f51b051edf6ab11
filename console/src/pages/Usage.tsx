import { useMemo, useState } from 'react';
import { get } from '../api';
import { Bars, LoadNotes, RangeSelect, TextFilter } from '../Bars';
import {
  formatCount,
  formatUsd,
  queryString,
  rangeQuery,
  series,
  usageTable,
  type RangeId,
  type UsageGroup,
  type UsageRow,
} from '../counts';
import { OperatorsOnly, ProblemBanner, Section, useLoad } from '../ui';

interface Usage {
  rows: UsageRow[];
  totals: { requests: number; inputTokens: number; outputTokens: number; costUsd: number };
  from: string;
  to: string;
  truncated: boolean;
}

const GROUPS: ReadonlyArray<{ id: UsageGroup; label: string }> = [
  { id: 'agentId', label: 'Agent' },
  { id: 'role', label: 'Role' },
  { id: 'model', label: 'Model' },
];

/** Tokens and cost of model calls through the privacy proxy (GET /v1/usage), per agent, role or model. */
export function UsagePage() {
  const [by, setBy] = useState<UsageGroup>('agentId');
  const [agentId, setAgentId] = useState('');
  const [role, setRole] = useState('');
  const [model, setModel] = useState('');
  const [asked, setAsked] = useState({
    range: '24h' as RangeId,
    agentId: '',
    role: '',
    model: '',
    at: Date.now(),
  });
  const query = useMemo(() => rangeQuery(asked.range, asked.at), [asked]);
  const data = useLoad(
    () =>
      get<Usage>(
        `/v1/usage${queryString({ from: query.from, to: query.to, agentId: asked.agentId, role: asked.role, model: asked.model, limit: 1000 })}`,
      ),
    [query, asked],
  );
  const table = useMemo(() => usageTable(data.data?.rows ?? [], by), [data.data, by]);
  const points = useMemo(
    () =>
      series(
        data.data?.rows ?? [],
        query,
        (r) => r.hour,
        (r) => [r.inputTokens, r.outputTokens],
      ),
    [data.data, query],
  );
  const ask = (range: RangeId) => setAsked({ range, agentId, role, model, at: Date.now() });
  const label = GROUPS.find((g) => g.id === by)?.label ?? '';
  return (
    <>
      <OperatorsOnly />
      <p className="muted">Tokens and cost of model calls through the privacy proxy (its price table).</p>
      <form
        className="filters spaced"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          ask(asked.range);
        }}
      >
        <RangeSelect value={asked.range} onChange={ask} />
        <GroupSelect value={by} onChange={setBy} />
        <TextFilter label="Agent" value={agentId} onChange={setAgentId} />
        <TextFilter label="Role" value={role} onChange={setRole} />
        <TextFilter label="Model" value={model} onChange={setModel} />
        <button type="submit" className="align-end">
          Show
        </button>
      </form>
      <ProblemBanner error={data.error} />
      <Section title={`Usage per ${label.toLowerCase()}`}>
        <LoadNotes
          loading={data.loading && !data.data}
          truncated={data.data?.truncated}
          empty={!!data.data && table.rows.length === 0}
          emptyText="No model calls in this range."
        />
        {table.rows.length ? (
          <>
            <Bars
              title={`Tokens per ${query.bucket}`}
              points={points}
              bucket={query.bucket}
              legend={['Input', 'Output']}
              format={formatCount}
            />
            <UsageTable table={table} label={label} />
          </>
        ) : null}
        <p className="muted">Hours and days are UTC. An agent&apos;s token sees its own calls only.</p>
      </Section>
    </>
  );
}

/** Usage per agent, role or model over the range, with the sum of all in the footer. */
function UsageTable({ table, label }: { table: ReturnType<typeof usageTable>; label: string }) {
  return (
    <div className="table-wrap">
      <table className="counts">
        <thead>
          <tr>
            <th scope="col">{label}</th>
            <th scope="col" className="num">
              Calls
            </th>
            <th scope="col" className="num">
              Input tokens
            </th>
            <th scope="col" className="num">
              Output tokens
            </th>
            <th scope="col" className="num">
              Cost
            </th>
          </tr>
        </thead>
        <tbody>
          {table.rows.map((r) => (
            <tr key={r.key}>
              <td>{r.key}</td>
              <td className="num">{formatCount(r.requests)}</td>
              <td className="num">{formatCount(r.inputTokens)}</td>
              <td className="num">{formatCount(r.outputTokens)}</td>
              <td className="num">{formatUsd(r.costUsd)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <td>All</td>
            <td className="num">{formatCount(table.sum.requests)}</td>
            <td className="num">{formatCount(table.sum.inputTokens)}</td>
            <td className="num">{formatCount(table.sum.outputTokens)}</td>
            <td className="num">{formatUsd(table.sum.costUsd)}</td>
          </tr>
        </tfoot>
      </table>
    </div>
  );
}

function GroupSelect({ value, onChange }: { value: UsageGroup; onChange: (by: UsageGroup) => void }) {
  return (
    <label>
      Per
      <select value={value} onChange={(e) => onChange(e.target.value as UsageGroup)}>
        {GROUPS.map((g) => (
          <option key={g.id} value={g.id}>
            {g.label}
          </option>
        ))}
      </select>
    </label>
  );
}
