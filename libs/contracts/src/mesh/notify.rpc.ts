import { z } from 'zod';
import { defineRpc } from '../define.js';
import { safeText } from '../safe-input.js';
import { CreateOptions, RecipientInput, Task } from './task.schema.js';

export const Notify = defineRpc({
  subject: 'rpc.mesh.v1.notify',
  description:
    'notify: fire-and-forget, delivered durably; the recipient acknowledges it by completing it. `to` (a role or ' +
    'one agent) is resolved against the registry as for send_task and stored as resolved.',
  request: z.object({
    to: RecipientInput,
    message: safeText(z.string().min(1)),
    ...CreateOptions,
  }),
  response: Task,
});
