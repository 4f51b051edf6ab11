import { useMemo, useState } from 'react';
import { get } from '../api';
import { Bars } from '../Bars';
import {
  formatCount,
  formatUsd,
  queryString,
  RANGES,
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
      <p className="muted">
        Tokens and cost of the model calls that went through the privacy proxy. Cost is by the proxy&apos;s
        price table.
      </p>
      <form
        className="filters spaced"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          ask(asked.range);
        }}
      >
        <label>
          Range
          <select value={asked.range} onChange={(e) => ask(e.target.value as RangeId)}>
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Per
          <select value={by} onChange={(e) => setBy(e.target.value as UsageGroup)}>
            {GROUPS.map((g) => (
              <option key={g.id} value={g.id}>
                {g.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Agent
          <input value={agentId} onChange={(e) => setAgentId(e.target.value)} placeholder="all" />
        </label>
        <label>
          Role
          <input value={role} onChange={(e) => setRole(e.target.value)} placeholder="all" />
        </label>
        <label>
          Model
          <input value={model} onChange={(e) => setModel(e.target.value)} placeholder="all" />
        </label>
        <button type="submit" className="align-end">
          Show
        </button>
      </form>
      <ProblemBanner error={data.error} />
      <Section title={`Usage per ${label.toLowerCase()}`}>
        {data.loading && !data.data ? <p className="muted">Loading…</p> : null}
        {data.data?.truncated ? (
          <p className="overdue">Only part of the range is shown: narrow the filters or the range.</p>
        ) : null}
        {data.data && table.rows.length === 0 ? <p className="muted">No model calls in this range.</p> : null}
        {table.rows.length ? (
          <>
            <Bars
              title={`Tokens per ${query.bucket}`}
              points={points}
              bucket={query.bucket}
              legend={['Input', 'Output']}
              format={formatCount}
            />
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
          </>
        ) : null}
        <p className="muted">Hours and days are UTC. An agent&apos;s token sees its own calls only.</p>
      </Section>
    </>
  );
}
