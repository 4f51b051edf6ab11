import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { defineRpc } from '../define.js';
import { PageCursor } from '../cursor.js';
import { safeText } from '../safe-input.js';
import { ContextId } from './context-id.js';
import { Task, TaskKind, TaskState } from './task.schema.js';

export const TASK_DIRECTIONS = ['inbound', 'outbound', 'any'] as const;

export const ListTasks = defineRpc({
  subject: 'rpc.mesh.v1.list-tasks',
  description:
    'list_tasks: newest first. `role`/`agentId` match the recipient (inbound), the sender (outbound) or either (any). ' +
    'A caller who is not an admin sees only tasks it is a party to. `cursor` is the previous page’s `nextCursor`.',
  request: z.object({
    role: safeText(z.string().min(1).max(100)).optional(),
    agentId: safeText(z.string().min(1).max(200)).optional(),
    state: TaskState.optional(),
    kind: TaskKind.optional(),
    contextId: ContextId.optional(),
    /** Only tasks changed at or after this instant (A2A ListTasks' statusTimestampAfter). */
    updatedAfter: Timestamp.optional(),
    direction: z.enum(TASK_DIRECTIONS).default('any'),
    limit: z.number().int().min(1).max(500).default(50),
    cursor: PageCursor.optional(),
    /** Also count every task the filters match (A2A ListTasks' totalSize). */
    count: z.boolean().optional(),
  }),
  response: z.object({
    items: z.array(Task),
    nextCursor: z.string().nullable(),
    /**
     * With `count`: how many tasks the filters match for this caller, whatever the page; exact up to
     * 10 000, and 10 000 when more match (the count stops reading there).
     */
    total: z.number().int().nonnegative().optional(),
  }),
});
