import type { Session, SessionTransition } from '@orgmesh/contracts';
import type { SessionRow, SessionTransitionRow } from './session.entity.js';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toSession(row: SessionRow): Session {
  return {
    id: row.id,
    agentId: row.agent_id,
    role: row.role,
    contextId: row.context_id,
    status: row.status,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    lastTransitionAt: row.last_transition_at.toISOString(),
    pausedAt: iso(row.paused_at),
    completedAt: iso(row.completed_at),
    failedAt: iso(row.failed_at),
    expiredAt: iso(row.expired_at),
    metadata: row.metadata,
  };
}

export function toTransition(row: SessionTransitionRow): SessionTransition {
  return {
    seq: Number(row.seq),
    sessionId: row.session_id,
    from: row.from_state,
    to: row.to_state,
    event: row.event,
    actor: row.actor,
    reason: row.reason,
    causationId: row.causation_id,
    traceId: row.trace_id,
    occurredAt: row.occurred_at.toISOString(),
  };
}
