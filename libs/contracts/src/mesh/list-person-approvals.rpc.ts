import { z } from 'zod';
import { defineRpc } from '../define.js';
import { PersonApproval } from './person-approval.schema.js';

export const PERSON_APPROVAL_VIEWS = ['awaiting', 'decided'] as const;

export const ListPersonApprovals = defineRpc({
  subject: 'rpc.mesh.v1.list-person-approvals',
  description:
    "A signed-in person's approvals (token scope orgmesh:person): `awaiting` — those waiting for the caller now " +
    '(or for someone who delegated to the caller), oldest deadline first; `decided` — those the caller decided, ' +
    'newest first. Each with the request, the requesting agent, the deadline and the escalation path.',
  request: z.object({
    view: z.enum(PERSON_APPROVAL_VIEWS),
    limit: z.number().int().min(1).max(200).default(50),
  }),
  response: z.object({ items: z.array(PersonApproval) }),
});
