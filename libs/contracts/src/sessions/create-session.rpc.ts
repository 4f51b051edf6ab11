import { z } from 'zod';
import { defineRpc } from '../define.js';
import { Session } from './session.schema.js';

export const CreateSession = defineRpc({
  subject: 'rpc.sessions.v1.create',
  description: 'Opens a pending session for an agent in a context (a new contextId when omitted).',
  request: z.object({
    agentId: z.string().min(1).max(200),
    /** The agent's role; the gateway fills it from the verified token, never from a caller's payload. */
    role: z.string().min(1).max(100),
    contextId: z.string().min(1).max(200).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  }),
  response: Session,
});
