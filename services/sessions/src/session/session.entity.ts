import type { SessionEventName, SessionState } from '@orgmesh/contracts';

/** A row of sessions.sessions as the pg driver returns it. Never leaves the service: see session.mapper.ts. */
export interface SessionRow {
  id: string;
  agent_id: string;
  role: string;
  context_id: string;
  status: SessionState;
  version: number;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  last_transition_at: Date;
  paused_at: Date | null;
  completed_at: Date | null;
  failed_at: Date | null;
  expired_at: Date | null;
}

export interface SessionTransitionRow {
  seq: string;
  session_id: string;
  from_state: SessionState;
  to_state: SessionState;
  event: SessionEventName;
  actor: string;
  reason: string | null;
  causation_id: string | null;
  trace_id: string | null;
  occurred_at: Date;
}
