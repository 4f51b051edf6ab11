import { z } from 'zod';
import { defineRpc } from '../define.js';
import { safeText } from '../safe-input.js';
import { ApprovalDecision, Task } from './task.schema.js';

export const Decide = defineRpc({
  subject: 'rpc.mesh.v1.decide',
  description:
    'Approves or rejects an approval (the addressed role or agent, or the manager it escalated to). The task ' +
    'completes with the decision as its result.',
  request: z.object({
    id: z.uuid(),
    decision: ApprovalDecision,
    comment: safeText(z.string().max(4000)).optional(),
  }),
  response: Task,
});
