import { CreateSessions1732000000000 } from './1732000000000-create-sessions.js';
import { IdempotencyCreatedIndex1735000000000 } from './1735000000000-idempotency-created-index.js';
import { RetentionIndexes1736000000000 } from './1736000000000-retention-indexes.js';

export const SESSIONS_SCHEMA = 'sessions';
export const SESSIONS_MIGRATIONS = [
  CreateSessions1732000000000,
  IdempotencyCreatedIndex1735000000000,
  RetentionIndexes1736000000000,
];
