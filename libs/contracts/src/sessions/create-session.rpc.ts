import { z } from 'zod';
import { defineRpc } from '../define.js';
import { ContextId } from '../mesh/context-id.js';
import { boundedJsonOf, safeText } from '../safe-input.js';
import { Session } from './session.schema.js';

export const CreateSession = defineRpc({
  subject: 'rpc.sessions.v1.create',
  description: 'Opens a pending session for an agent in a context (a new contextId when omitted).',
  request: z.object({
    agentId: safeText(z.string().min(1).max(200)),
    /** The agent's role; the gateway fills it from the verified token, never from a caller's payload. */
    role: safeText(z.string().min(1).max(100)),
    contextId: ContextId.optional(),
    /** Free-form JSON, within the limits every free-form JSON has (depth, node count, safe strings). */
    metadata: boundedJsonOf(z.record(z.string(), z.json())).optional(),
  }),
  response: Session,
});
