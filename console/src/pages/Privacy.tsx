import { useMemo, useState } from 'react';
import { get } from '../api';
import { Bars, LoadNotes, RangeSelect, TextFilter } from '../Bars';
import {
  formatCount,
  queryString,
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
        <RangeSelect
          value={asked.range}
          onChange={(range) => setAsked({ range, role, entityType, at: Date.now() })}
        />
        <TextFilter label="Role" value={role} onChange={setRole} />
        <TextFilter label="Entity type" value={entityType} onChange={setEntityType} />
        <button type="submit" className="align-end">
          Show
        </button>
      </form>
      <ProblemBanner error={data.error} />
      <Section title="Redactions per role and entity type">
        <LoadNotes
          loading={data.loading && !data.data}
          truncated={data.data?.truncated}
          empty={!!data.data && table.rows.length === 0}
          emptyText="Nothing was found in requests in this range."
        />
        {table.rows.length ? (
          <>
            <Bars
              title={`Findings per ${query.bucket}`}
              points={points}
              bucket={query.bucket}
              legend={['Masked', 'Let through', 'Refused']}
              format={formatCount}
            />
            <RedactionsTable table={table} />
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

/** Totals per role × entity type over the range, with the sum of all in the footer. */
function RedactionsTable({ table }: { table: ReturnType<typeof redactionTable> }) {
  return (
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
  );
}
