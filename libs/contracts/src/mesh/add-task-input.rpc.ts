import { z } from 'zod';
import { defineRpc } from '../define.js';
import { boundedJson } from '../safe-input.js';
import { Task } from './task.schema.js';

export const AddTaskInput = defineRpc({
  subject: 'rpc.mesh.v1.add-task-input',
  description:
    "The sender of an open task gives it more input (an A2A message continuing the task): the task's input " +
    'becomes this one, the change is recorded (history `input`), an input-required task goes back to working, ' +
    'and the task is delivered again to whoever works on it. Only tasks (not approvals or notifications), only ' +
    'their sender; a finished task → task_illegal_transition (409), someone else’s → forbidden (403).',
  request: z.object({
    id: z.uuid(),
    input: boundedJson(),
  }),
  response: Task,
});
