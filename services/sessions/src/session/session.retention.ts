import { processedEventsRetention } from '@orgmesh/messaging';
import type { RetentionTarget } from '@orgmesh/persistence';

export interface SessionsRetention {
  /** Terminal sessions (completed, failed, expired) whose last transition is older than this go. */
  sessionsMs: number;
  idempotencyKeysMs: number;
  processedEventsMs: number;
}

/**
 * What the sessions retention job deletes (docs/operations.md): terminal sessions by their last
 * transition (`sessions_terminal_last_transition_idx`), their transitions and idempotency records
 * with them in the same statement (ON DELETE CASCADE); idempotency records by age; the dedupe
 * records of the mesh-follow consumer (see MIN_PROCESSED_EVENTS_RETENTION_MS). Open sessions are
 * never deleted: the idle sweeper expires them first.
 */
export function sessionsRetentionTargets(retention: SessionsRetention): RetentionTarget[] {
  return [
    {
      name: 'sessions.sessions',
      table: 'sessions.sessions',
      ageColumn: 'last_transition_at',
      // The predicate of the partial index, spelled the same so the planner matches it.
      where: `status IN ('completed','failed','expired')`,
      maxAgeMs: retention.sessionsMs,
    },
    {
      name: 'sessions.idempotency_keys',
      table: 'sessions.idempotency_keys',
      ageColumn: 'created_at',
      maxAgeMs: retention.idempotencyKeysMs,
    },
    processedEventsRetention('sessions', retention.processedEventsMs),
  ];
}
