import { useMemo, useState } from 'react';
import { get } from '../api';
import { Bars } from '../Bars';
import {
  formatCount,
  queryString,
  RANGES,
  rangeQuery,
  redactionTable,
  series,
  type RangeId,
  type RedactionRow,
} from '../counts';
import { OperatorsOnly, ProblemBanner, Section, useLoad } from '../ui';

interface Redactions {
  rows: RedactionRow[];
  totals: { masked: number; passed: number; refused: number };
  from: string;
  to: string;
  bucket: 'hour' | 'day';
  truncated: boolean;
}

/**
 * What the privacy proxy did with personal data, per role and entity type (GET /v1/privacy/redactions):
 * counts only — the gateway serves no value, placeholder or text, so none can show here.
 */
export function PrivacyPage() {
  const [role, setRole] = useState('');
  const [entityType, setEntityType] = useState('');
  // What was asked for: the range is fixed when asked (Show, or a new range), so the table and the
  // bars describe the same moments, and typing in a filter asks nothing until it is submitted.
  const [asked, setAsked] = useState({ range: '24h' as RangeId, role: '', entityType: '', at: Date.now() });
  const query = useMemo(() => rangeQuery(asked.range, asked.at), [asked]);
  const data = useLoad(
    () =>
      get<Redactions>(
        `/v1/privacy/redactions${queryString({ ...query, role: asked.role, entityType: asked.entityType, limit: 5000 })}`,
      ),
    [query, asked],
  );
  const table = useMemo(() => redactionTable(data.data?.rows ?? []), [data.data]);
  const points = useMemo(
    () =>
      series(
        data.data?.rows ?? [],
        query,
        (r) => r.bucket,
        (r) => [r.masked, r.passed, r.refused],
      ),
    [data.data, query],
  );
  return (
    <>
      <OperatorsOnly />
      <p className="muted">
        How many values the privacy proxy masked, let through by a role&apos;s profile, or refused a request
        for. Counts only: never the values.
      </p>
      <form
        className="filters spaced"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setAsked({ range: asked.range, role, entityType, at: Date.now() });
        }}
      >
        <label>
          Range
          <select
            value={asked.range}
            onChange={(e) => setAsked({ range: e.target.value as RangeId, role, entityType, at: Date.now() })}
          >
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Role
          <input value={role} onChange={(e) => setRole(e.target.value)} placeholder="all" />
        </label>
        <label>
          Entity type
          <input value={entityType} onChange={(e) => setEntityType(e.target.value)} placeholder="all" />
        </label>
        <button type="submit" className="align-end">
          Show
        </button>
      </form>
      <ProblemBanner error={data.error} />
      <Section title="Redactions per role and entity type">
        {data.loading && !data.data ? <p className="muted">Loading…</p> : null}
        {data.data?.truncated ? (
          <p className="overdue">Only part of the range is shown: narrow the filters or the range.</p>
        ) : null}
        {data.data && table.rows.length === 0 ? (
          <p className="muted">Nothing was found in requests in this range.</p>
        ) : null}
        {table.rows.length ? (
          <>
            <Bars
              title={`Findings per ${query.bucket}`}
              points={points}
              bucket={query.bucket}
              legend={['Masked', 'Let through', 'Refused']}
              format={formatCount}
            />
            <div className="table-wrap">
              <table className="counts">
                <thead>
                  <tr>
                    <th scope="col">Role</th>
                    <th scope="col">Entity type</th>
                    <th scope="col" className="num">
                      Masked
                    </th>
                    <th scope="col" className="num">
                      Let through
                    </th>
                    <th scope="col" className="num">
                      Refused
                    </th>
                    <th scope="col" className="num">
                      Total
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {table.rows.map((r) => (
                    <tr key={`${r.role}/${r.entityType}`}>
                      <td>{r.role}</td>
                      <td>
                        <code>{r.entityType}</code>
                      </td>
                      <td className="num">{formatCount(r.masked)}</td>
                      <td className="num">{formatCount(r.passed)}</td>
                      <td className="num">{formatCount(r.refused)}</td>
                      <td className="num">{formatCount(r.total)}</td>
                    </tr>
                  ))}
                </tbody>
                <tfoot>
                  <tr>
                    <td colSpan={2}>All</td>
                    <td className="num">{formatCount(table.sum.masked)}</td>
                    <td className="num">{formatCount(table.sum.passed)}</td>
                    <td className="num">{formatCount(table.sum.refused)}</td>
                    <td className="num">{formatCount(table.sum.total)}</td>
                  </tr>
                </tfoot>
              </table>
            </div>
          </>
        ) : null}
        <p className="muted">
          “Let through” is the profile&apos;s <code>detect</code> action; “Refused” its <code>strict</code>{' '}
          action (the request was not sent). Hours and days are UTC.
        </p>
      </Section>
    </>
  );
}
