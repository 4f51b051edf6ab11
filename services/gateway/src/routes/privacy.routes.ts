import { GetRedactions } from '@orgmesh/contracts';
import { ownRoleFilter } from '../auth/caller.js';
import { rowLimit } from './pagination.js';
import { forwardRoute, type Route } from './route.js';

/**
 * Redaction counts recorded by the privacy proxy (issues 23 and 24). Admins and viewers read their
 * tenant's, an agent its own role's; a person's sign-in is not admitted (operators' view).
 */
export const privacyRoutes: Route[] = [
  forwardRoute(GetRedactions, {
    operationId: 'getRedactions',
    method: 'GET',
    path: '/v1/privacy/redactions',
    tag: 'privacy',
    summary: 'Redaction counts',
    description:
      'How many findings the privacy proxy masked, let through by the role’s profile (`passed`, the `detect` ' +
      'action) or refused the request for (`refused`, the `strict` action), per hour or UTC day, role and entity ' +
      'type (newest bucket first). Counts only: never values, placeholders or text. Admins and viewers read every ' +
      'role of their tenant; an agent reads its own role (naming another role is 403). Default range: the last ' +
      '24 hours.',
    access: ['admin', 'viewer', 'agent'],
    // The contract's filters; `bucket` and `limit` are optional here, with their defaults in the schema.
    query: GetRedactions.request.extend({
      bucket: GetRedactions.request.shape.bucket
        .default('hour')
        .describe('Group by UTC hour (default) or UTC day'),
      limit: rowLimit(5000, 1000),
    }),
    status: 200,
    // The proxy checks the forwarded token again and confines an agent to its own role.
    request: ({ query, caller }) => ({
      ...query,
      role: ownRoleFilter(caller, query.role, 'the redaction counts'),
    }),
  }),
];
