import { z } from 'zod';
import { DelegateApprovals, ListPersonApprovals } from '@orgmesh/contracts';
import { defineRoute, type Route } from './route.js';

const PEOPLE = ['person'] as const;

const ViewQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .optional()
    .describe('At most this many (default 50, at most 200).'),
});

/**
 * A signed-in person's approvals (issue 23, ADR 0019): what waits for them, what they decided, and
 * handing their approvals to someone else for a while. Deciding is `POST /v1/tasks/{id}/decision`.
 * The mesh checks every right against the org chart and the rules; the gateway only admits the kind.
 */
export const approvalRoutes: Route[] = [
  defineRoute({
    operationId: 'listApprovalsAwaitingMe',
    method: 'GET',
    path: '/v1/approvals/awaiting-me',
    tag: 'mesh',
    summary: 'Approvals waiting for me (a signed-in person)',
    description:
      'Approvals routed to people that wait for the caller now, or for someone who delegated to the caller (`onBehalfOf`), ' +
      'oldest deadline first: the request (`task.subject`, `task.details`), the requesting agent (`task.from`), the ' +
      "waiting step's deadline (`stepDeadline`), who else must decide (`awaiting`, `quorum` in `steps`), the escalation " +
      'path and the decisions so far. Decide with `POST /v1/tasks/{id}/decision`.',
    access: PEOPLE,
    query: ViewQuery,
    status: 200,
    response: ListPersonApprovals.response,
    async handle({ query, call }) {
      return call(ListPersonApprovals, { view: 'awaiting', limit: query.limit ?? 50 });
    },
  }),
  defineRoute({
    operationId: 'listApprovalsDecidedByMe',
    method: 'GET',
    path: '/v1/approvals/decided-by-me',
    tag: 'mesh',
    summary: 'Approvals I decided (a signed-in person)',
    description:
      'The approvals the caller decided (for themselves or on behalf of someone), newest decision first.',
    access: PEOPLE,
    query: ViewQuery,
    status: 200,
    response: ListPersonApprovals.response,
    async handle({ query, call }) {
      return call(ListPersonApprovals, { view: 'decided', limit: query.limit ?? 50 });
    },
  }),
  defineRoute({
    operationId: 'delegateApprovals',
    method: 'POST',
    path: '/v1/approvals/delegations',
    tag: 'mesh',
    summary: 'Delegate my approvals to another person for a period',
    description:
      'The delegate may decide what waits for the caller from `startsAt` (default now) until `endsAt` (at most 90 ' +
      'days ahead); each such decision is recorded as on behalf of the caller. Unknown person or oneself → 400.',
    access: PEOPLE,
    body: DelegateApprovals.request,
    status: 201,
    response: DelegateApprovals.response,
    async handle({ body, call }) {
      return call(DelegateApprovals, body);
    },
  }),
];
