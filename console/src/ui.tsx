import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { signedInAsPerson } from './auth';
import { plainProblem } from './problem';

/** A refusal shown in plain words, with the problem's own title and detail below. */
export function ProblemBanner({ error }: { error: unknown }) {
  if (!error) return null;
  const { headline, title, detail } = plainProblem(error);
  return (
    <div className="problem" role="alert">
      <strong>{headline}</strong>
      <div>
        <span className="problem-title">{title}</span>
        {detail ? <span> — {detail}</span> : null}
      </div>
    </div>
  );
}

export function Time({ at }: { at: string | null | undefined }) {
  if (!at) return <span className="muted">—</span>;
  const date = new Date(at);
  return (
    <time dateTime={at} title={date.toISOString()}>
      {date.toLocaleString()}
    </time>
  );
}

/** How long until a moment (or how long ago), in words. */
export function Until({ at }: { at: string | null | undefined }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(timer);
  }, []);
  if (!at) return <span className="muted">—</span>;
  const ms = new Date(at).getTime() - now;
  const minutes = Math.round(Math.abs(ms) / 60_000);
  const words =
    minutes < 1 ? 'under a minute' : minutes < 120 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
  return (
    <span className={ms < 0 ? 'overdue' : undefined} title={new Date(at).toLocaleString()}>
      {ms < 0 ? `${words} overdue` : `in ${words}`}
    </span>
  );
}

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge state-${state}`}>{state}</span>;
}

export function Json({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
}

/** Loads data, exposing it with loading and error states and a reload. */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: unknown[],
): {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
} {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loader = useRef(load);
  loader.current = load;
  useEffect(() => {
    let live = true;
    setLoading(true);
    loader.current().then(
      (value) => {
        if (!live) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (e: unknown) => {
        if (!live) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

export function Section({
  title,
  children,
  actions,
}: {
  title: string;
  children: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <section className="card" aria-label={title}>
      <header className="card-head">
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

/** On the operator pages: a person's sign-in reaches the approvals only; the refusals below say the same. */
export function OperatorsOnly() {
  if (!signedInAsPerson()) return null;
  return (
    <p className="note">
      This page is for operators (an administrator's or viewer's token). You are signed in as a person of the
      org chart, whom the gateway lets see and decide their approvals only.
    </p>
  );
}
