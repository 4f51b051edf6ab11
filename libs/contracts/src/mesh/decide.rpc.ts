import { z } from 'zod';
import { defineRpc } from '../define.js';
import { safeText } from '../safe-input.js';
import { ApprovalDecision, Task } from './task.schema.js';

export const Decide = defineRpc({
  subject: 'rpc.mesh.v1.decide',
  description:
    'Approves or rejects an approval (the addressed role or agent, or the manager it escalated to). The task ' +
    'completes with the decision as its result. An approval routed to people (ADR 0019) is decided by a person ' +
    '(orgmesh:person) of its waiting step or their delegate: deciding twice → approval_already_decided (409) ' +
    'naming the earlier decision; without the right → forbidden (403) naming the rule.',
  request: z.object({
    id: z.uuid(),
    decision: ApprovalDecision,
    comment: safeText(z.string().max(4000)).optional(),
  }),
  response: Task,
});
