import { z } from 'zod';
import { defineEvent } from '../define.js';
import { SessionTransition } from './session.schema.js';

export const SessionTransitioned = defineEvent({
  subject: 'sessions.v1.transitioned',
  // The transition as the session's history records it, with whose session it is and its new version.
  schema: SessionTransition.pick({
    sessionId: true,
    from: true,
    to: true,
    event: true,
    actor: true,
    reason: true,
    causationId: true,
    occurredAt: true,
  }).extend({
    agentId: z.string(),
    role: z.string(),
    contextId: z.string(),
    version: z.number().int(),
  }),
});
