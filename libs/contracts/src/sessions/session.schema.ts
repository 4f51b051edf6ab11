import { z } from 'zod';
import { Timestamp } from '../timestamp.js';

export const SESSION_STATES = ['pending', 'active', 'paused', 'completed', 'failed', 'expired'] as const;
export const SessionState = z.enum(SESSION_STATES);
export type SessionState = z.infer<typeof SessionState>;

export const SESSION_EVENTS = ['activate', 'pause', 'resume', 'complete', 'fail', 'expire'] as const;
export const SessionEventName = z.enum(SESSION_EVENTS);
export type SessionEventName = z.infer<typeof SessionEventName>;

export const TERMINAL_SESSION_STATES: readonly SessionState[] = ['completed', 'failed', 'expired'];

/** A session as every consumer sees it (REST, gRPC, events). */
export const Session = z.object({
  id: z.uuid(),
  agentId: z.string().min(1),
  role: z.string().min(1),
  contextId: z.string().min(1),
  status: SessionState,
  version: z.number().int().nonnegative(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  lastTransitionAt: Timestamp,
  pausedAt: Timestamp.nullable(),
  completedAt: Timestamp.nullable(),
  failedAt: Timestamp.nullable(),
  expiredAt: Timestamp.nullable(),
  metadata: z.record(z.string(), z.unknown()),
});
export type Session = z.infer<typeof Session>;

export const SessionTransition = z.object({
  seq: z.number().int().positive(),
  sessionId: z.uuid(),
  from: SessionState,
  to: SessionState,
  event: SessionEventName,
  actor: z.string(),
  reason: z.string().nullable(),
  causationId: z.string().nullable(),
  traceId: z.string().nullable(),
  occurredAt: Timestamp,
});
export type SessionTransition = z.infer<typeof SessionTransition>;
