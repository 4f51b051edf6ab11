import { z } from 'zod';
import { defineRpc } from '../define.js';
import { boundedJson, safeText } from '../safe-input.js';
import { CreateOptions, RecipientInput, Task } from './task.schema.js';

export const SendTask = defineRpc({
  subject: 'rpc.mesh.v1.send-task',
  description:
    "send_task: a task for a role's inbox (or one agent). The sender is the verified token's subject and role. " +
    '`to` is resolved against the registry and the task stores what it resolved to (`to` of the reply); a name that is ' +
    'neither an agent nor a role → validation_failed (400) naming `to`. ' +
    'Policy refusal → policy_denied (403) naming the rule; the idempotency-key header makes a repeat return the first task.',
  request: z.object({
    to: RecipientInput,
    type: safeText(z.string().min(1).max(200)),
    input: boundedJson().optional(),
    ...CreateOptions,
  }),
  response: Task,
});
