import { defineEvent } from '../define.js';
import { Session } from './session.schema.js';

export const SessionCreated = defineEvent({
  subject: 'sessions.v1.created',
  schema: Session,
});
