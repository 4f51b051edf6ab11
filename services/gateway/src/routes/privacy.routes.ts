import { z } from 'zod';
import { GetRedactions } from '@orgmesh/contracts';
import { requireOwnRole } from '../auth/caller.js';
import { defineRoute, type Route } from './route.js';

const filters = GetRedactions.request.shape;

/**
 * Redaction counts recorded by the privacy proxy (issues 23 and 24). Admins and viewers read their
 * tenant's, an agent its own role's; a person's sign-in is not admitted (operators' view).
 */
export const privacyRoutes: Route[] = [
  defineRoute({
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
    query: z.object({
      role: filters.role,
      entityType: filters.entityType,
      from: filters.from,
      to: filters.to,
      bucket: filters.bucket.optional().describe('Group by UTC hour (default) or UTC day'),
      limit: z.coerce
        .number()
        .int()
        .min(1)
        .max(5000)
        .optional()
        .describe('Rows at most (default 1000, max 5000)'),
    }),
    status: 200,
    response: GetRedactions.response,
    async handle({ query, caller, call }) {
      if (query.role !== undefined) requireOwnRole(caller, query.role, 'the redaction counts');
      // The proxy checks the forwarded token again and confines an agent to its own role.
      return call(GetRedactions, {
        ...query,
        ...(caller.kind === 'agent' ? { role: caller.role } : {}),
        bucket: query.bucket ?? 'hour',
        limit: query.limit ?? 1000,
      });
    },
  }),
];
