import { CreateSessions1732000000000 } from './1732000000000-create-sessions.js';

export const SESSIONS_SCHEMA = 'sessions';
export const SESSIONS_MIGRATIONS = [CreateSessions1732000000000];
