import { z } from 'zod';
import { GetUsage } from '@orgmesh/contracts';
import { requireSelf } from '../auth/caller.js';
import { WRITERS, defineRoute, type Route } from './route.js';

const filters = GetUsage.request.shape;

/** LLM usage recorded by the privacy proxy (issue 24): admins read their tenant's, an agent its own. */
export const usageRoutes: Route[] = [
  defineRoute({
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
    query: z.object({
      agentId: filters.agentId,
      role: filters.role,
      model: filters.model,
      provider: filters.provider,
      from: filters.from,
      to: filters.to,
      limit: z.coerce.number().int().min(1).max(1000).optional().describe('Rows at most (default 100, max 1000)'),
    }),
    status: 200,
    response: GetUsage.response,
    async handle({ query, caller, call }) {
      if (query.agentId !== undefined) requireSelf(caller, query.agentId, 'the usage');
      // The proxy checks the forwarded token again and confines an agent to its own calls.
      return call(GetUsage, {
        ...query,
        ...(caller.kind === 'agent' ? { agentId: caller.subject } : {}),
        limit: query.limit ?? 100,
      });
    },
  }),
];
