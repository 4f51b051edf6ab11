import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { defineRpc } from '../define.js';
import { UserId } from '../registry/registry.schema.js';

export const ApprovalDelegation = z.object({
  id: z.uuid(),
  from: z.string(),
  to: z.string(),
  startsAt: Timestamp,
  endsAt: Timestamp,
});
export type ApprovalDelegation = z.infer<typeof ApprovalDelegation>;

export const DelegateApprovals = defineRpc({
  subject: 'rpc.mesh.v1.delegate-approvals',
  description:
    'A signed-in person (orgmesh:person) hands their approvals to another person of the org chart for a period: ' +
    'the delegate may decide what waits for the caller, recorded as on behalf of the caller. Not to oneself; ' +
    '`endsAt` after `startsAt` (default now) and at most 90 days ahead.',
  request: z.object({
    to: UserId,
    startsAt: Timestamp.optional(),
    endsAt: Timestamp,
  }),
  response: ApprovalDelegation,
});

export const ListDelegations = defineRpc({
  subject: 'rpc.mesh.v1.list-delegations',
  description:
    "A signed-in person's delegations not yet ended: those they gave (`given`) and those given to them " +
    '(`received`), soonest end first.',
  request: z.object({}),
  response: z.object({ given: z.array(ApprovalDelegation), received: z.array(ApprovalDelegation) }),
});

export const RevokeDelegation = defineRpc({
  subject: 'rpc.mesh.v1.revoke-delegation',
  description:
    'The person who gave a delegation ends it now (its delegate decides nothing more for them). Not theirs or ' +
    'unknown → not_found; already ended → answered as it is.',
  request: z.object({ id: z.uuid() }),
  response: ApprovalDelegation,
});
