import { z } from 'zod';
import { defineRpc } from '../define.js';
import { PageCursor } from '../cursor.js';
import { AgentPresence, RegistryAgent, RegistryVersion, RoleId } from './registry.schema.js';

export const ListAgents = defineRpc({
  subject: 'rpc.registry.v1.list-agents',
  description: 'Agents ordered by id, filtered; `cursor` is the opaque `nextCursor` of the previous page.',
  request: z.object({
    role: RoleId.optional(),
    online: z.boolean().optional(),
    limit: z.number().int().min(1).max(500).default(100),
    cursor: PageCursor.optional(),
  }),
  response: z.object({
    items: z.array(z.object({ agent: RegistryAgent, presence: AgentPresence })),
    nextCursor: z.string().nullable(),
    version: RegistryVersion,
  }),
});
