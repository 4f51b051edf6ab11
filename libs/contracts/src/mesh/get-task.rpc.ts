import { z } from 'zod';
import { defineRpc } from '../define.js';
import { Task } from './task.schema.js';

export const GetTask = defineRpc({
  subject: 'rpc.mesh.v1.get-task',
  description: "fetch_status: state, history and result. Only the task's parties (and admins) may read it.",
  request: z.object({ id: z.uuid(), includeHistory: z.boolean().default(true) }),
  response: Task,
});
