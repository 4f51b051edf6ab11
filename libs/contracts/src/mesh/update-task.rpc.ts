import { z } from 'zod';
import { defineRpc } from '../define.js';
import { boundedJson, safeText } from '../safe-input.js';
import { Task } from './task.schema.js';

/** What the assigned agent may report. */
export const TASK_UPDATE_STATES = ['working', 'input-required', 'completed', 'failed', 'rejected'] as const;

export const UpdateTask = defineRpc({
  subject: 'rpc.mesh.v1.update-task',
  description:
    'The assigned agent reports working, input-required, completed (with a result artifact), failed or rejected ' +
    '(with a reason). The first update by an agent of the role assigns the task to it. Illegal → task_illegal_transition (409).',
  request: z.object({
    id: z.uuid(),
    state: z.enum(TASK_UPDATE_STATES),
    result: boundedJson().optional(),
    reason: safeText(z.string().max(2000)).optional(),
  }),
  response: Task,
});
