import { defineEvent } from '../define.js';
import { TaskChange } from './task.schema.js';

export const TaskCreated = defineEvent({
  subject: 'mesh.v1.task-created',
  description:
    'A task, approval or notification was accepted (same payload shape as task-updated, change.event = create).',
  schema: TaskChange,
});
