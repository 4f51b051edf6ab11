import { z } from 'zod';
import { defineEvent } from '../define.js';
import { SessionEventName, SessionState } from './session.schema.js';

export const SessionTransitioned = defineEvent({
  subject: 'sessions.v1.transitioned',
  schema: z.object({
    sessionId: z.uuid(),
    agentId: z.string(),
    role: z.string(),
    contextId: z.string(),
    from: SessionState,
    to: SessionState,
    event: SessionEventName,
    actor: z.string(),
    reason: z.string().nullable(),
    causationId: z.string().nullable(),
    version: z.number().int(),
    occurredAt: z.iso.datetime({ offset: true }),
  }),
});
