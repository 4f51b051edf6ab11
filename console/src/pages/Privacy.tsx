import { useMemo, useState } from 'react';
import { RangeSelect, TextFilter } from '../Bars';
import {
  formatCount,
  queryString,
  redactionTable,
  type RangeId,
  type RedactionRow,
  type RedactionTotalsRow,
} from '../counts';
import type { Column } from '../table';
import { OperatorsOnly, ProblemBanner } from '../ui';
import { CountsSection, FilterForm, useCounts } from './counts-report';

/**
 * What the privacy proxy did with personal data, per role and entity type (GET /v1/privacy/redactions):
 * counts only — the gateway serves no value, placeholder or text, so none can show here.
 */
export function PrivacyPage() {
  const [role, setRole] = useState('');
  const [entityType, setEntityType] = useState('');
  const [asked, setAsked] = useState({ range: '24h' as RangeId, role: '', entityType: '', at: Date.now() });
  const ask = (range: RangeId) => setAsked({ range, role, entityType, at: Date.now() });
  const counts = useCounts<RedactionRow>({
    asked,
    url: (range) =>
      `/v1/privacy/redactions${queryString({ ...range, role: asked.role, entityType: asked.entityType, limit: 5000 })}`,
    at: (r) => r.bucket,
    parts: (r) => [r.masked, r.passed, r.refused],
  });
  const table = useMemo(() => redactionTable(counts.rows), [counts.answer.data]);
  return (
    <>
      <OperatorsOnly />
      <p className="muted">
        How many values the privacy proxy masked, let through by a role&apos;s profile, or refused a request
        for. Counts only: never the values.
      </p>
      <FilterForm onSubmit={() => ask(asked.range)}>
        <RangeSelect value={asked.range} onChange={ask} />
        <TextFilter label="Role" value={role} onChange={setRole} />
        <TextFilter label="Entity type" value={entityType} onChange={setEntityType} />
      </FilterForm>
      <ProblemBanner error={counts.answer.error} />
      <CountsSection
        title="Redactions per role and entity type"
        counts={counts}
        measure="Findings"
        legend={['Masked', 'Let through', 'Refused']}
        table={table}
        columns={REDACTION_COLUMNS}
        rowKey={(r) => `${r.role}/${r.entityType}`}
        emptyText="Nothing was found in requests in this range."
        note={
          <p className="muted">
            “Let through” is the profile&apos;s <code>detect</code> action; “Refused” its <code>strict</code>{' '}
            action (the request was not sent). Hours and days are UTC.
          </p>
        }
      />
    </>
  );
}

/** Totals per role × entity type over the range; the footer sums them all. */
const REDACTION_COLUMNS: ReadonlyArray<Column<RedactionTotalsRow, ReturnType<typeof redactionTable>['sum']>> =
  [
    { head: 'Role', cell: (r) => r.role },
    { head: 'Entity type', cell: (r) => <code>{r.entityType}</code> },
    { head: 'Masked', num: true, cell: (r) => formatCount(r.masked) },
    { head: 'Let through', num: true, cell: (r) => formatCount(r.passed) },
    { head: 'Refused', num: true, cell: (r) => formatCount(r.refused) },
    { head: 'Total', num: true, cell: (r) => formatCount(r.total) },
  ];
