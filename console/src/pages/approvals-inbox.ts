import { useCallback, useEffect, useRef, useState } from 'react';
import { get } from '../api';
import { followEvents } from '../events';
import type { Page, PersonApproval, Task } from '../types';
import {
  append,
  keep,
  keepGone,
  normalize,
  type InboxList,
  type InboxView,
  type ShownApproval,
} from './approvals-list';

export type { InboxList, InboxView, ShownApproval } from './approvals-list';

/** Items per request; "load more" asks for the next page with the previous page's cursor. */
export const INBOX_PAGE = 20;

async function page(view: InboxView, me: string, cursor: string | null): Promise<InboxList> {
  const after = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
  const answer = await get<Page<PersonApproval | Task>>(
    `/v1/approvals?${view}=me&limit=${INBOX_PAGE}${after}`,
  );
  return {
    items: answer.items.map(normalize).filter((a) => keep(view, me, a)),
    nextCursor: answer.nextCursor ?? null,
  };
}

/** The first pages of a view, as many as it takes to show `want` items again (a refresh keeps what was loaded). */
async function firstPages(view: InboxView, me: string, want: number): Promise<InboxList> {
  const items: PersonApproval[] = [];
  let cursor: string | null = null;
  do {
    const next: InboxList = await page(view, me, cursor);
    items.push(...next.items);
    cursor = next.nextCursor;
  } while (cursor && items.length < want);
  return { items, nextCursor: cursor };
}

export interface Inbox {
  awaiting: InboxList<ShownApproval>;
  decided: InboxList;
}

/**
 * Calls `refresh(true)` when an approval changes. The inbox follows the event stream (a person sees
 * their approvals' changes there, ADR 0019): no polling while it is live. Only while the stream fails
 * (refused, or reconnecting after a drop) does a slow poll keep the inbox roughly current; it stops as
 * soon as the stream is live again.
 */
function useApprovalChanges(refresh: (live: boolean) => Promise<void>): void {
  const live = useRef(refresh);
  live.current = refresh;
  useEffect(() => {
    let disposed = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let poll: ReturnType<typeof setInterval> | undefined;
    const stop = followEvents(
      (event) => {
        const payload = event.payload as { task?: Task } | undefined;
        if (payload?.task?.kind !== 'approval') return;
        // A burst of changes (an approval's create and its first audit) is one refresh.
        clearTimeout(timer);
        timer = setTimeout(() => void live.current(true), 150);
      },
      (state) => {
        if (disposed) return;
        if (state === 'live') {
          clearInterval(poll);
          poll = undefined;
        } else if ((state === 'retrying' || state === 'closed') && !poll) {
          poll = setInterval(() => void live.current(true), 30_000);
        }
      },
      'mesh.v1.task-created,mesh.v1.task-updated',
    );
    return () => {
      disposed = true;
      clearTimeout(timer);
      clearInterval(poll);
      stop();
    };
  }, []);
}

/**
 * The person's inbox, paged: `reload` reads it afresh (after the person's own decision, or Refresh);
 * the event stream's approval changes refresh it in place (`live`), keeping what was loaded and the
 * cards the person may be acting on; `more` appends a view's next page.
 */
export function useInbox(me: string) {
  const [data, setData] = useState<Inbox>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState<InboxView>();
  const current = useRef<Inbox | undefined>(undefined);
  current.current = data;
  // Only the newest refresh may write: an older answer arriving late would undo a newer one.
  const generation = useRef(0);

  const refresh = useCallback(
    async (live: boolean) => {
      const mine = ++generation.current;
      setLoading(true);
      const shown = current.current;
      try {
        const [awaiting, decided] = await Promise.all([
          firstPages('awaiting', me, shown?.awaiting.items.filter((a) => !a.gone).length ?? 0),
          firstPages('decided', me, shown?.decided.items.length ?? 0),
        ]);
        if (mine !== generation.current) return;
        setData({
          awaiting:
            live && shown ? { ...awaiting, items: keepGone(shown.awaiting.items, awaiting.items) } : awaiting,
          decided,
        });
        setError(undefined);
      } catch (e) {
        if (mine === generation.current) setError(e);
      } finally {
        if (mine === generation.current) setLoading(false);
      }
    },
    [me],
  );

  const more = useCallback(
    async (view: InboxView) => {
      const shown = current.current;
      const cursor = shown?.[view].nextCursor;
      if (!shown || !cursor) return;
      const mine = generation.current;
      setLoadingMore(view);
      try {
        const next = await page(view, me, cursor);
        // A refresh meanwhile re-read the pages: this page may no longer follow them.
        if (mine !== generation.current || !current.current) return;
        const base = current.current;
        setData(
          view === 'awaiting'
            ? { ...base, awaiting: append(base.awaiting, next) }
            : { ...base, decided: append(base.decided, next) },
        );
      } catch (e) {
        setError(e);
      } finally {
        setLoadingMore(undefined);
      }
    },
    [me],
  );

  useEffect(() => {
    void refresh(false);
  }, [refresh]);

  useApprovalChanges(refresh);

  return {
    data,
    error,
    loading,
    loadingMore,
    reload: () => void refresh(false),
    more: (view: InboxView) => void more(view),
  };
}
