import { z } from 'zod';
import { defineRpc } from '../define.js';
import { Session, SessionState } from './session.schema.js';

export const ListSessions = defineRpc({
  subject: 'rpc.sessions.v1.list',
  description: 'Sessions newest first, filtered; `cursor` is the opaque `nextCursor` of the previous page.',
  request: z.object({
    status: SessionState.optional(),
    role: z.string().optional(),
    agentId: z.string().optional(),
    contextId: z.string().optional(),
    limit: z.number().int().min(1).max(500).default(50),
    cursor: z.string().optional(),
  }),
  response: z.object({ items: z.array(Session), nextCursor: z.string().nullable() }),
});
