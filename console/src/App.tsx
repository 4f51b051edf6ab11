import { useEffect, useRef, useState } from 'react';
import { whenSignedOut } from './api';
import { currentSession, signIn, signOut, type Session } from './auth';
import { ActivityPage } from './pages/Activity';
import { AdminPage } from './pages/Admin';
import { AgentsPage } from './pages/Agents';
import { ApprovalsPage } from './pages/Approvals';
import { PrivacyPage } from './pages/Privacy';
import { UsagePage } from './pages/Usage';
import { ProblemBanner } from './ui';

const PAGES = [
  { id: 'approvals', label: 'Approvals' },
  { id: 'activity', label: 'Sessions & tasks' },
  { id: 'agents', label: 'Agents' },
  { id: 'privacy', label: 'Privacy' },
  { id: 'usage', label: 'Usage' },
  { id: 'admin', label: 'Admin' },
] as const;
type PageId = (typeof PAGES)[number]['id'];

/** Pages are addressed by the hash (`#/agents`), so the gateway serves one index.html and back/forward work. */
function pageFromHash(): PageId {
  const id = location.hash.replace(/^#\/?/, '');
  return (PAGES.find((p) => p.id === id)?.id ?? 'approvals') as PageId;
}

function SignIn({ error }: { error: unknown }) {
  const [refused, setRefused] = useState<unknown>();
  return (
    <main id="main" className="signin">
      <h1>orgmesh console</h1>
      <p>Sign in as a person of the org chart to see what waits for you.</p>
      <ProblemBanner error={refused ?? error} />
      <button type="button" className="primary" onClick={() => signIn().catch(setRefused)}>
        Sign in
      </button>
    </main>
  );
}

export function App({ initialError }: { initialError?: unknown }) {
  const [session, setSession] = useState<Session | undefined>(currentSession);
  const [signedOutBy, setSignedOutBy] = useState<unknown>();
  const [page, setPage] = useState<PageId>(pageFromHash);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    whenSignedOut((refusal) => {
      setSignedOutBy(refusal);
      setSession(undefined);
    });
    const onHash = () => setPage(pageFromHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  // After a page change the focus moves to its heading, so keyboard and screen-reader users land there.
  const firstPage = useRef(true);
  useEffect(() => {
    // Not at the first render: a fresh load starts at the top of the document (the skip link first).
    if (!firstPage.current) heading.current?.focus();
    firstPage.current = false;
    document.title = `${PAGES.find((p) => p.id === page)?.label ?? ''} — orgmesh console`;
  }, [page]);
  if (!session) return <SignIn error={signedOutBy ?? initialError} />;
  const label = PAGES.find((p) => p.id === page)?.label ?? '';
  return (
    <>
      <a
        className="skip"
        href="#main"
        onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}
      >
        Skip to content
      </a>
      <header className="top">
        <span className="brand">orgmesh</span>
        <nav aria-label="Console pages">
          <ul>
            {PAGES.map((p) => (
              <li key={p.id}>
                <a href={`#/${p.id}`} aria-current={p.id === page ? 'page' : undefined}>
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who">
          <span title={`role ${session.role}`}>{session.subject}</span>{' '}
          <button
            type="button"
            onClick={() => {
              signOut();
              setSession(undefined);
            }}
          >
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <h1 ref={heading} tabIndex={-1}>
          {label}
        </h1>
        {page === 'approvals' ? <ApprovalsPage me={session.subject} /> : null}
        {page === 'activity' ? <ActivityPage /> : null}
        {page === 'agents' ? <AgentsPage /> : null}
        {page === 'privacy' ? <PrivacyPage /> : null}
        {page === 'usage' ? <UsagePage /> : null}
        {page === 'admin' ? <AdminPage /> : null}
      </main>
    </>
  );
}
