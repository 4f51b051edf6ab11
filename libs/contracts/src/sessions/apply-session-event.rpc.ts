import { z } from 'zod';
import { defineRpc } from '../define.js';
import { safeText } from '../safe-input.js';
import { Session, SessionEventName } from './session.schema.js';

export const ApplySessionEvent = defineRpc({
  subject: 'rpc.sessions.v1.apply-event',
  description:
    'Applies one FSM event. Illegal → session_illegal_transition (409) with currentState and allowedEvents. ' +
    'A repeated idempotency-key header returns the first result without a second transition.',
  request: z.object({
    id: z.uuid(),
    event: SessionEventName,
    reason: safeText(z.string().max(2000)).optional(),
    /**
     * Ignored: the sessions service records the verified caller (the forwarded token's subject) as
     * the actor. Still accepted so older senders validate.
     */
    actor: safeText(z.string().min(1).max(200)).default('system'),
    causationId: safeText(z.string().max(200)).optional(),
    /** Only apply when the session is still at this version (optimistic concurrency for callers). */
    expectedVersion: z.number().int().nonnegative().optional(),
  }),
  response: Session,
});
