import type { SessionRow, Task } from '../types';
import { ProblemBanner, Section, StateBadge, Time } from '../ui';

/** At most this many rows of each table are drawn; the section title counts them all. */
const SHOWN = 200;

/** A workflow id that opens its timeline (sessions and tasks tables). */
function WorkflowLink({ contextId, onOpen }: { contextId: string; onOpen: (contextId: string) => void }) {
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

export function SessionsTable({
  rows,
  error,
  onOpen,
}: {
  rows: SessionRow[];
  error: unknown;
  onOpen: (contextId: string) => void;
}) {
  return (
    <Section title={`Sessions (${rows.length})`}>
      <ProblemBanner error={error} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">Role</th>
              <th scope="col">State</th>
              <th scope="col">Workflow</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {rows.slice(0, SHOWN).map((s) => (
              <tr key={s.id}>
                <td>{s.agentId}</td>
                <td>{s.role}</td>
                <td>
                  <StateBadge state={s.status} />
                </td>
                <td>
                  <WorkflowLink contextId={s.contextId} onOpen={onOpen} />
                </td>
                <td>
                  <Time at={s.updatedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Section>
  );
}

export function TasksTable({
  rows,
  error,
  onOpen,
}: {
  rows: Task[];
  error: unknown;
  onOpen: (contextId: string) => void;
}) {
  return (
    <Section title={`Tasks (${rows.length})`}>
      <ProblemBanner error={error} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">What</th>
              <th scope="col">From</th>
              <th scope="col">To</th>
              <th scope="col">State</th>
              <th scope="col">Workflow</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {rows.slice(0, SHOWN).map((t) => (
              <tr key={t.id}>
                <td>{t.kind}</td>
                <td>{t.subject ?? t.type ?? t.message ?? ''}</td>
                <td>{t.from.agentId ?? t.from.role}</td>
                <td>{t.to.userId ?? t.to.agentId ?? t.to.role}</td>
                <td>
                  <StateBadge state={t.state} />
                </td>
                <td>
                  <WorkflowLink contextId={t.contextId} onOpen={onOpen} />
                </td>
                <td>
                  <Time at={t.updatedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Section>
  );
}
