import type { PersonApproval, Task } from '../types';

/** The person inbox's lists as plain data: no requests, no React (tested in console-logic.spec.ts). */

export type InboxView = 'awaiting' | 'decided';

export interface InboxList<T extends PersonApproval = PersonApproval> {
  items: T[];
  nextCursor: string | null;
}

/** An approval the inbox still shows although the mesh no longer lists it as waiting for the person. */
export interface ShownApproval extends PersonApproval {
  /** Decided or moved elsewhere meanwhile: kept in place (the person may be writing a comment) until the next full reload. */
  gone?: boolean;
}

/**
 * An approval as the inbox shows it. With the mesh's person view (GET /v1/approvals?awaiting=me,
 * issue 23) each item carries its rule, step deadline and escalation path; an older mesh answers
 * plain approval tasks, shown with what they have.
 */
export function normalize(item: PersonApproval | Task): PersonApproval {
  if ('task' in item) return item;
  return {
    task: item,
    rule: 'request',
    status: item.decision ? 'decided' : 'open',
    step: 0,
    stepDeadline: item.escalateAt ?? item.deadline,
    awaiting: [],
    escalationPath: [],
    decisions: [],
    onBehalfOf: null,
  };
}

const ENDED = ['completed', 'rejected', 'canceled', 'failed'];

export function keep(view: InboxView, me: string, a: PersonApproval): boolean {
  if (view === 'awaiting') return !a.task.decision && !ENDED.includes(a.task.state);
  return a.decisions.some((d) => d.userId === me) || a.task.decision?.decidedBy?.userId === me;
}

/** The refreshed list, with the cards that left it kept where they were, marked gone. */
export function keepGone(before: ShownApproval[], now: PersonApproval[]): ShownApproval[] {
  const ids = new Set(now.map((a) => a.task.id));
  const merged: ShownApproval[] = [...now];
  before.forEach((a, index) => {
    if (!ids.has(a.task.id)) merged.splice(Math.min(index, merged.length), 0, { ...a, gone: true });
  });
  return merged;
}

export function append<T extends PersonApproval>(list: InboxList<T>, more: InboxList<T>): InboxList<T> {
  const ids = new Set(list.items.map((a) => a.task.id));
  return {
    items: [...list.items, ...more.items.filter((a) => !ids.has(a.task.id))],
    nextCursor: more.nextCursor,
  };
}
