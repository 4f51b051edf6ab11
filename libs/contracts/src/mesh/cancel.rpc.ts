import { z } from 'zod';
import { defineRpc } from '../define.js';
import { safeText } from '../safe-input.js';
import { Task } from './task.schema.js';

export const CancelTask = defineRpc({
  subject: 'rpc.mesh.v1.cancel',
  description:
    'The sender (or an admin) cancels a task that has not ended. Ended → task_illegal_transition (409).',
  request: z.object({ id: z.uuid(), reason: safeText(z.string().max(2000)).optional() }),
  response: Task,
});
