import { defineEvent } from '../define.js';
import { TaskChange } from './task.schema.js';

export const TaskUpdated = defineEvent({
  subject: 'mesh.v1.task-updated',
  description:
    'A task changed: a state transition, a decision, a cancellation, a timeout, undeliverable, or an escalation ' +
    '(state unchanged). `task.version` orders the changes of one task.',
  schema: TaskChange,
});
