import { z } from 'zod';
import { DelegateApprovals, ListDelegations, RevokeDelegation } from '@orgmesh/contracts';
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
  defineRoute({
    operationId: 'listDelegations',
    method: 'GET',
    path: '/v1/approvals/delegations',
    tag: 'mesh',
    summary: 'My delegations (given and received)',
    description: 'The delegations the caller gave and received that have not ended, soonest end first.',
    access: PEOPLE,
    status: 200,
    response: ListDelegations.response,
    async handle({ call }) {
      return call(ListDelegations, {});
    },
  }),
  defineRoute({
    operationId: 'revokeDelegation',
    method: 'DELETE',
    path: '/v1/approvals/delegations/{id}',
    tag: 'mesh',
    summary: 'Revoke a delegation I gave',
    description:
      'Ends the delegation now: its delegate decides nothing more for the caller. Not the caller’s, or unknown → 404.',
    access: PEOPLE,
    params: z.object({ id: z.uuid().describe('Delegation id') }),
    status: 200,
    response: RevokeDelegation.response,
    errors: [404],
    async handle({ params, call }) {
      return call(RevokeDelegation, { id: params.id });
    },
  }),
];
