import { useState, type FormEvent } from 'react';
import { api, get, post } from '../api';
import { ApiError } from '../problem';
import { Table } from '../table';
import type { PersonApproval, Task } from '../types';
import { Json, ProblemBanner, Section, StateBadge, Time, Until, useLoad } from '../ui';
import { useInbox, type InboxView, type ShownApproval } from './approvals-inbox';

function who(party: { agentId?: string | null; role: string; userId?: string | null }): string {
  return party.agentId ? `${party.agentId} (${party.role})` : party.userId ? `${party.userId}` : party.role;
}

/** What the person needs to decide: who asks, by when, under which rule, who else decides, what follows. */
function ApprovalFacts({ approval }: { approval: ShownApproval }) {
  const { task } = approval;
  return (
    <dl className="facts">
      <dt>Requested by</dt>
      <dd>{who(task.from)}</dd>
      <dt>Requested</dt>
      <dd>
        <Time at={task.createdAt} />
      </dd>
      <dt>Decide by</dt>
      <dd>
        <Until at={approval.stepDeadline} /> (<Time at={approval.stepDeadline} />)
      </dd>
      <dt>Rule</dt>
      <dd>{approval.rule}</dd>
      {approval.onBehalfOf ? (
        <>
          <dt>On behalf of</dt>
          <dd>{approval.onBehalfOf}</dd>
        </>
      ) : null}
      {approval.steps?.[approval.step] ? (
        <>
          <dt>Who decides</dt>
          <dd>
            {approval.steps[approval.step]?.quorum ?? 1} of{' '}
            {(approval.steps[approval.step]?.approvers ?? []).map((p) => p.name ?? p.userId).join(', ') ||
              'the role'}
            {approval.awaiting.length
              ? `; still waiting for ${approval.awaiting.map((p) => p.name ?? p.userId).join(', ')}`
              : ''}
          </dd>
        </>
      ) : null}
      <dt>Then escalates to</dt>
      <dd>
        {approval.escalationPath.length ? (
          approval.escalationPath.map((p) => p.name ?? p.userId).join(' → ')
        ) : (
          <span className="muted">nobody further (the chain ends)</span>
        )}
      </dd>
      <dt>Priority</dt>
      <dd>{task.priority}</dd>
    </dl>
  );
}

function ApprovalCard({
  approval,
  onDecided,
}: {
  approval: ShownApproval;
  onDecided: (decision: 'approve' | 'reject', task: Task) => void;
}) {
  const { task } = approval;
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const decide = async (decision: 'approve' | 'reject') => {
    setBusy(true);
    setError(undefined);
    try {
      await post<Task>(`/v1/tasks/${encodeURIComponent(task.id)}/decision`, {
        decision,
        ...(comment.trim() ? { comment: comment.trim() } : {}),
      });
      onDecided(decision, task);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const titleId = `approval-${task.id}`;
  return (
    <article className="approval" aria-labelledby={titleId}>
      <h3 id={titleId}>{task.subject ?? 'Approval'}</h3>
      {approval.gone ? (
        <p className="muted">
          No longer waiting for you (decided or moved on elsewhere). Refresh to clear it.
        </p>
      ) : null}
      <ApprovalFacts approval={approval} />
      <details open>
        <summary>Request details</summary>
        <Json value={task.details} />
      </details>
      <div className="decide">
        <label htmlFor={`comment-${task.id}`}>Comment (optional)</label>
        <textarea
          id={`comment-${task.id}`}
          value={comment}
          onChange={(e) => setComment(e.target.value)}
          rows={2}
          maxLength={4000}
        />
        <div className="buttons">
          <button type="button" className="primary" disabled={busy} onClick={() => void decide('approve')}>
            Approve
          </button>
          <button type="button" className="danger" disabled={busy} onClick={() => void decide('reject')}>
            Reject
          </button>
        </div>
      </div>
      <ProblemBanner error={error} />
    </article>
  );
}

/** "Load more" under a list while the gateway says another page follows. */
function More({ view, inbox }: { view: InboxView; inbox: ReturnType<typeof useInbox> }) {
  if (!inbox.data?.[view].nextCursor) return null;
  return (
    <button type="button" disabled={inbox.loadingMore === view} onClick={() => inbox.more(view)}>
      {inbox.loadingMore === view ? 'Loading…' : 'Load more'}
    </button>
  );
}

export function ApprovalsPage({ me }: { me: string }) {
  // Paged, and refreshed by the approvals' changes on the event stream (approvals-inbox.ts).
  const inbox = useInbox(me);
  const notAvailable = inbox.error instanceof ApiError && inbox.error.status === 403;
  const [notice, setNotice] = useState<string>();
  const decided = (decision: 'approve' | 'reject', task: Task) => {
    setNotice(`You ${decision === 'approve' ? 'approved' : 'rejected'} “${task.subject ?? 'the approval'}”.`);
    inbox.reload();
  };
  return (
    <>
      <Section
        title="Waiting for me"
        actions={
          <button type="button" onClick={inbox.reload}>
            Refresh
          </button>
        }
      >
        <p className="ok" role="status">
          {notice}
        </p>
        <ProblemBanner error={inbox.error} />
        {notAvailable ? <p>The mesh does not let this sign-in list approvals.</p> : null}
        {inbox.loading && !inbox.data ? <p aria-busy="true">Loading…</p> : null}
        {inbox.data && !inbox.data.awaiting.items.length ? (
          <p className="muted">Nothing waits for you.</p>
        ) : null}
        <div className="approvals">
          {inbox.data?.awaiting.items.map((a) => (
            <ApprovalCard key={a.task.id} approval={a} onDecided={decided} />
          ))}
        </div>
        <More view="awaiting" inbox={inbox} />
      </Section>
      <Delegate me={me} />
      <Section title="What I decided">
        {inbox.data && !inbox.data.decided.items.length ? <p className="muted">No decisions yet.</p> : null}
        {inbox.data?.decided.items.length ? (
          <DecidedTable approvals={inbox.data.decided.items} me={me} />
        ) : null}
        <More view="decided" inbox={inbox} />
      </Section>
    </>
  );
}

/** The approvals I decided: my decision (or the one that ended the approval) and where each stands. */
function DecidedTable({ approvals, me }: { approvals: PersonApproval[]; me: string }) {
  const rows = approvals.map((a) => ({
    task: a.task,
    decision: a.decisions.find((d) => d.userId === me) ?? a.task.decision,
  }));
  return (
    <Table
      columns={[
        { head: 'Request', cell: ({ task }) => task.subject },
        { head: 'From', cell: ({ task }) => who(task.from) },
        { head: 'Decision', cell: ({ decision }) => decision?.decision },
        { head: 'Comment', cell: ({ decision }) => decision?.comment ?? <span className="muted">—</span> },
        { head: 'When', cell: ({ decision }) => <Time at={decision?.decidedAt} /> },
        { head: 'State', cell: ({ task }) => <StateBadge state={task.state} /> },
      ]}
      rows={rows}
      rowKey={({ task }) => task.id}
    />
  );
}

interface Delegation {
  id: string;
  from: string;
  to: string;
  startsAt: string;
  endsAt: string;
}

/**
 * Hands my approvals to another person of the org chart for a while (the mesh records each decision
 * as on my behalf), lists the delegations I gave and received, and revokes one I gave.
 */
function Delegate({ me }: { me: string }) {
  const [to, setTo] = useState('');
  const [until, setUntil] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const list = useLoad(
    () => get<{ given: Delegation[]; received: Delegation[] }>('/v1/approvals/delegations'),
    [],
  );
  const act = async (work: () => Promise<string>) => {
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      setDone(await work());
      list.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void act(async () => {
      const endsAt = until ? new Date(until).toISOString() : '';
      const made = await post<Delegation>('/v1/approvals/delegations', { to: to.trim(), endsAt });
      return `Until ${new Date(made.endsAt).toLocaleString()}, ${made.to} decides what waits for ${me}, on your behalf.`;
    });
  };
  const revoke = (d: Delegation) =>
    void act(async () => {
      await api<Delegation>('DELETE', `/v1/approvals/delegations/${encodeURIComponent(d.id)}`);
      return `${d.to} no longer decides for you.`;
    });
  return (
    <Section title="Delegate my approvals">
      <form className="filters" onSubmit={submit}>
        <label>
          To (user id)
          <input value={to} onChange={(e) => setTo(e.target.value)} required placeholder="u00003" />
        </label>
        <label>
          Until
          <input type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} required />
        </label>
        <button type="submit" disabled={busy} className="align-end">
          Delegate
        </button>
      </form>
      <p className="ok" role="status">
        {done}
      </p>
      <ProblemBanner error={error ?? list.error} />
      {list.data?.given.length ? (
        <ul className="delegations" aria-label="Delegations I gave">
          {list.data.given.map((d) => (
            <li key={d.id}>
              {d.to} decides for me until <Time at={d.endsAt} />{' '}
              <button type="button" disabled={busy} onClick={() => revoke(d)}>
                Revoke
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      {list.data?.received.length ? (
        <ul className="delegations" aria-label="Delegations I received">
          {list.data.received.map((d) => (
            <li key={d.id}>
              I decide for {d.from} until <Time at={d.endsAt} />
            </li>
          ))}
        </ul>
      ) : null}
    </Section>
  );
}
