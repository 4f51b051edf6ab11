import { z } from 'zod';
import { defineRpc } from '../define.js';
import { CanonicalTimestamp, PageCursor, defineCursor, invalidCursor } from '../cursor.js';
import { PersonApproval } from './person-approval.schema.js';

export const PERSON_APPROVAL_VIEWS = ['awaiting', 'decided'] as const;
export type PersonApprovalView = (typeof PERSON_APPROVAL_VIEWS)[number];

export const ListPersonApprovals = defineRpc({
  subject: 'rpc.mesh.v1.list-person-approvals',
  description:
    "A signed-in person's approvals (token scope orgmesh:person): `awaiting` — those waiting for the caller now " +
    '(or for someone who delegated to the caller), oldest deadline first; `decided` — those the caller decided, ' +
    'newest first. Each with the request, the requesting agent, the deadline and the escalation path. ' +
    '`cursor` is the previous page’s `nextCursor` (of the same view; anything else is `invalid_cursor`).',
  request: z.object({
    view: z.enum(PERSON_APPROVAL_VIEWS),
    limit: z.number().int().min(1).max(200).default(50),
    cursor: PageCursor.optional(),
  }),
  response: z.object({ items: z.array(PersonApproval), nextCursor: z.string().nullable() }),
});

/**
 * A position in a person's approval list: the view it belongs to (`a` awaiting, ordered by step
 * deadline ascending; `d` decided, by decision time descending), the row's time and task id (the
 * tie-breaker: one route per task, one decision per task and person).
 */
export interface PersonApprovalPosition {
  view: PersonApprovalView;
  at: string;
  taskId: string;
}

const PersonApprovalWire = defineCursor(
  z.strictObject({ v: z.enum(['a', 'd']), t: CanonicalTimestamp, i: z.uuid() }),
);

/**
 * The keyset cursor of `ListPersonApprovals`. The view is part of it, so an `awaiting` cursor is
 * not read as a `decided` one. No future check: a step deadline lies in the future by design.
 */
export const personApprovalCursor = {
  encode(position: PersonApprovalPosition): string {
    return PersonApprovalWire.encode({
      v: position.view === 'awaiting' ? 'a' : 'd',
      t: new Date(position.at).toISOString(),
      i: position.taskId,
    });
  },
  decode(cursor: string, view: PersonApprovalView): PersonApprovalPosition {
    const { v, t, i } = PersonApprovalWire.decode(cursor);
    if ((v === 'a') !== (view === 'awaiting')) throw invalidCursor('a cursor of the other view');
    return { view, at: t, taskId: i };
  },
};
