import { z } from 'zod';
import { defineRpc } from '../define.js';
import { PageCursor } from '../cursor.js';
import { ContextId } from '../mesh/context-id.js';
import { safeText } from '../safe-input.js';
import { Session, SessionState } from './session.schema.js';

export const ListSessions = defineRpc({
  subject: 'rpc.sessions.v1.list',
  description: 'Sessions newest first, filtered; `cursor` is the opaque `nextCursor` of the previous page.',
  request: z.object({
    status: SessionState.optional(),
    role: safeText(z.string().min(1).max(100)).optional(),
    agentId: safeText(z.string().min(1).max(200)).optional(),
    contextId: ContextId.optional(),
    limit: z.number().int().min(1).max(500).default(50),
    cursor: PageCursor.optional(),
  }),
  response: z.object({ items: z.array(Session), nextCursor: z.string().nullable() }),
});
