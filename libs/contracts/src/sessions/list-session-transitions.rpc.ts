import { z } from 'zod';
import { defineRpc } from '../define.js';
import { SessionTransition } from './session.schema.js';

export const ListSessionTransitions = defineRpc({
  subject: 'rpc.sessions.v1.list-transitions',
  request: z.object({ id: z.uuid() }),
  response: z.object({ items: z.array(SessionTransition) }),
});
