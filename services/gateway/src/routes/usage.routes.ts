import { GetUsage } from '@orgmesh/contracts';
import { selfFilter } from '../auth/caller.js';
import { rowLimit } from './pagination.js';
import { WRITERS, forwardRoute, type Route } from './route.js';

/** LLM usage recorded by the privacy proxy (issue 24): admins read their tenant's, an agent its own. */
export const usageRoutes: Route[] = [
  forwardRoute(GetUsage, {
    operationId: 'getUsage',
    method: 'GET',
    path: '/v1/usage',
    tag: 'usage',
    summary: 'LLM usage',
    description:
      'Token usage and cost of model calls through the privacy proxy, per hour and agent, role, session, workflow, ' +
      'provider and model (newest hour first). Admins read every agent of their tenant; an agent reads its own calls ' +
      '(naming another agent is 403). Default range: the last 24 hours. Cost is by the proxy’s price table; ' +
      '`estimatedRequests` counts calls whose answer carried no usage (counted by the tokenizer).',
    access: WRITERS,
    // The contract's filters; only `limit` arrives as a string, and defaults in its schema.
    query: GetUsage.request.extend({
      limit: rowLimit(1000, 100),
    }),
    status: 200,
    // The proxy checks the forwarded token again and confines an agent to its own calls.
    request: ({ query, caller }) => ({ ...query, agentId: selfFilter(caller, query.agentId, 'the usage') }),
  }),
];
