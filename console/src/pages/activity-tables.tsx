import { Table, type Column } from '../table';
import type { SessionRow, Task } from '../types';
import { ProblemBanner, Section, StateBadge, Time } from '../ui';

/** At most this many rows of each table are drawn; the section title counts them all. */
const SHOWN = 200;

type OpenWorkflow = (contextId: string) => void;

/** A workflow id that opens its timeline (sessions and tasks tables). */
function WorkflowLink({ contextId, onOpen }: { contextId: string; onOpen: OpenWorkflow }) {
  return (
    <button
      type="button"
      className="link"
      onClick={() => onOpen(contextId)}
      title="Show this workflow's timeline"
    >
      {contextId}
    </button>
  );
}

/** The columns both tables end with: the state, the workflow (it opens its timeline), the last change. */
function stateColumns<Row extends { contextId: string; updatedAt: string }>(
  state: (row: Row) => string,
  onOpen: OpenWorkflow,
): Array<Column<Row>> {
  return [
    { head: 'State', cell: (row) => <StateBadge state={state(row)} /> },
    { head: 'Workflow', cell: (row) => <WorkflowLink contextId={row.contextId} onOpen={onOpen} /> },
    { head: 'Updated', cell: (row) => <Time at={row.updatedAt} /> },
  ];
}

/** A section with its rows counted in the title and the first SHOWN of them drawn. */
function ActivityTable<Row extends { id: string }>({
  title,
  rows,
  error,
  columns,
}: {
  title: string;
  rows: Row[];
  error: unknown;
  columns: Array<Column<Row>>;
}) {
  return (
    <Section title={`${title} (${rows.length})`}>
      <ProblemBanner error={error} />
      <Table columns={columns} rows={rows.slice(0, SHOWN)} rowKey={(row) => row.id} />
    </Section>
  );
}

export function SessionsTable({
  rows,
  error,
  onOpen,
}: {
  rows: SessionRow[];
  error: unknown;
  onOpen: OpenWorkflow;
}) {
  const columns: Array<Column<SessionRow>> = [
    { head: 'Agent', cell: (s) => s.agentId },
    { head: 'Role', cell: (s) => s.role },
    ...stateColumns<SessionRow>((s) => s.status, onOpen),
  ];
  return <ActivityTable title="Sessions" rows={rows} error={error} columns={columns} />;
}

export function TasksTable({ rows, error, onOpen }: { rows: Task[]; error: unknown; onOpen: OpenWorkflow }) {
  const columns: Array<Column<Task>> = [
    { head: 'Kind', cell: (t) => t.kind },
    { head: 'What', cell: (t) => t.subject ?? t.type ?? t.message ?? '' },
    { head: 'From', cell: (t) => t.from.agentId ?? t.from.role },
    { head: 'To', cell: (t) => t.to.userId ?? t.to.agentId ?? t.to.role },
    ...stateColumns<Task>((t) => t.state, onOpen),
  ];
  return <ActivityTable title="Tasks" rows={rows} error={error} columns={columns} />;
}
