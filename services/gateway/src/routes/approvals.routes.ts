import { DelegateApprovals } from '@orgmesh/contracts';
import { defineRoute, type Route } from './route.js';

const PEOPLE = ['person'] as const;

/**
 * A signed-in person hands their approvals to someone else for a while (issue 23, ADR 0019). What waits
 * for them is `GET /v1/approvals?awaiting=me` (mesh.routes.ts); deciding is `POST /v1/tasks/{id}/decision`.
 * The mesh checks every right against the org chart and the rules; the gateway only admits the kind.
 */
export const approvalRoutes: Route[] = [
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
