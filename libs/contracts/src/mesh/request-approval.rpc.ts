import { z } from 'zod';
import { defineRpc } from '../define.js';
import { boundedJson, safeText } from '../safe-input.js';
import { CreateOptions, RecipientInput, Task } from './task.schema.js';

export const RequestApproval = defineRpc({
  subject: 'rpc.mesh.v1.request-approval',
  description:
    'request_approval: a task whose result is a decision (approve | reject, comment). Undecided, it escalates once ' +
    "to the approver's manager from the org chart, then times out at its deadline. `to` (a role or one agent) is " +
    'resolved against the registry as for send_task and stored as resolved.',
  request: z.object({
    to: RecipientInput,
    subject: safeText(z.string().min(1).max(500)),
    details: boundedJson().optional(),
    ...CreateOptions,
  }),
  response: Task,
});
