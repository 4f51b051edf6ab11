import { useMemo, useState } from 'react';
import { Choice, RangeSelect, TextFilter } from '../Bars';
import {
  formatCount,
  formatUsd,
  queryString,
  usageTable,
  type RangeId,
  type UsageGroup,
  type UsageRow,
  type UsageTotalsRow,
} from '../counts';
import type { Column } from '../table';
import { OperatorsOnly, ProblemBanner } from '../ui';
import { CountsSection, FilterForm, useCounts } from './counts-report';

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
  const ask = (range: RangeId) => setAsked({ range, agentId, role, model, at: Date.now() });
  const counts = useCounts<UsageRow>({
    asked,
    url: ({ from, to }) =>
      `/v1/usage${queryString({ from, to, agentId: asked.agentId, role: asked.role, model: asked.model, limit: 1000 })}`,
    at: (r) => r.hour,
    parts: (r) => [r.inputTokens, r.outputTokens],
  });
  const table = useMemo(() => usageTable(counts.rows, by), [counts.answer.data, by]);
  const label = GROUPS.find((g) => g.id === by)?.label ?? '';
  return (
    <>
      <OperatorsOnly />
      <p className="muted">Tokens and cost of model calls through the privacy proxy (its price table).</p>
      <FilterForm onSubmit={() => ask(asked.range)}>
        <RangeSelect value={asked.range} onChange={ask} />
        <Choice label="Per" value={by} options={GROUPS} onChange={setBy} />
        <TextFilter label="Agent" value={agentId} onChange={setAgentId} />
        <TextFilter label="Role" value={role} onChange={setRole} />
        <TextFilter label="Model" value={model} onChange={setModel} />
      </FilterForm>
      <ProblemBanner error={counts.answer.error} />
      <CountsSection
        title={`Usage per ${label.toLowerCase()}`}
        counts={counts}
        measure="Tokens"
        legend={['Input', 'Output']}
        table={table}
        columns={usageColumns(label)}
        rowKey={(r) => r.key}
        emptyText="No model calls in this range."
        note={<p className="muted">Hours and days are UTC. An agent&apos;s token sees its own calls only.</p>}
      />
    </>
  );
}

/** Usage per agent, role or model (`label`) over the range; the footer sums them all. */
function usageColumns(
  label: string,
): ReadonlyArray<Column<UsageTotalsRow, ReturnType<typeof usageTable>['sum']>> {
  return [
    { head: label, cell: (r) => r.key },
    { head: 'Calls', num: true, cell: (r) => formatCount(r.requests) },
    { head: 'Input tokens', num: true, cell: (r) => formatCount(r.inputTokens) },
    { head: 'Output tokens', num: true, cell: (r) => formatCount(r.outputTokens) },
    { head: 'Cost', num: true, cell: (r) => formatUsd(r.costUsd) },
  ];
}
