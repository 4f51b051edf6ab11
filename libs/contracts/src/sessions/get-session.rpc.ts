import { z } from 'zod';
import { defineRpc } from '../define.js';
import { Session } from './session.schema.js';

export const GetSession = defineRpc({
  subject: 'rpc.sessions.v1.get',
  request: z.object({ id: z.uuid() }),
  response: Session,
});
