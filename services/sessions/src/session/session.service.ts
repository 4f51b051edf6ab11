import { randomUUID } from 'node:crypto';
import {
  AppError,
  SessionCreated,
  SessionTransitioned,
  type Session,
  type SessionEventName,
  type SessionState,
  type SessionTransition,
} from '@orgmesh/contracts';
import { outboxEvent } from '@orgmesh/messaging';
import { decodeSessionCursor, encodeSessionCursor } from './session.cursor.js';
import { allowedEvents, nextTimestamps, outcomeOf } from './session.fsm.js';
import { illegalTransition, sessionNotFound, versionConflict } from './session.errors.js';
import type { SessionCaller } from '../identity/caller-identity.js';
import { listFilterAgent, requireMayAct, requireMayOpen, requireMayRead } from './session.access.js';
import type { Decision, SessionRepository } from './session.repository.js';

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export interface ApplyEventCommand {
  id: string;
  event: SessionEventName;
  /**
   * The verified caller of an RPC: it must own the session (or be an admin) and it is the actor.
   * Absent only for the service's own work (the idle sweeper, the mesh follower), which names `actor`.
   */
  caller?: SessionCaller;
  /** Recorded as the transition's actor when there is no caller; a caller is always its own actor. */
  actor: string;
  reason?: string;
  causationId?: string;
  expectedVersion?: number;
  idempotencyKey?: string;
}

/**
 * Session lifecycle rules, and the events each change emits (sessions.v1.created on open,
 * sessions.v1.transitioned on every move); all I/O goes through the repository, which writes the
 * events with the rows they describe.
 */
export class SessionService {
  constructor(
    private readonly repository: SessionRepository,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * Opens a session, or returns the open one of that agent and context; a repeated idempotency key
   * returns the first result. A caller (an RPC) opens sessions for itself unless it is an admin.
   */
  async create(
    input: {
      agentId: string;
      role: string;
      contextId?: string;
      metadata?: Record<string, unknown>;
      idempotencyKey?: string;
    },
    caller?: SessionCaller,
  ) {
    if (caller) requireMayOpen(input, caller);
    const at = this.clock.now().toISOString();
    const session: Session = {
      id: randomUUID(),
      agentId: input.agentId,
      role: input.role,
      contextId: input.contextId ?? randomUUID(),
      status: 'pending',
      version: 0,
      createdAt: at,
      updatedAt: at,
      lastTransitionAt: at,
      pausedAt: null,
      completedAt: null,
      failedAt: null,
      expiredAt: null,
      metadata: input.metadata ?? {},
    };
    // Written only if this session is stored (not when the agent's open one is returned instead).
    const event = outboxEvent(SessionCreated, session);
    return this.repository.create({ session, event, idempotencyKey: input.idempotencyKey });
  }

  async get(id: string, caller?: SessionCaller): Promise<Session> {
    const session = await this.repository.get(id);
    if (!session) throw sessionNotFound(id);
    if (caller) requireMayRead(session, caller);
    return session;
  }

  async list(filter: {
    status?: SessionState;
    role?: string;
    agentId?: string;
    contextId?: string;
    limit: number;
    cursor?: string;
  }, caller?: SessionCaller): Promise<{ items: Session[]; nextCursor: string | null }> {
    const agentId = caller ? listFilterAgent(filter.agentId, caller) : filter.agentId;
    const cursor = filter.cursor ? decodeSessionCursor(filter.cursor, this.clock.now()) : undefined;
    const items = await this.repository.list({ ...filter, agentId, cursor });
    const last = items[items.length - 1];
    return { items, nextCursor: items.length === filter.limit && last ? encodeSessionCursor(last) : null };
  }

  async listTransitions(id: string, caller?: SessionCaller): Promise<SessionTransition[]> {
    await this.get(id, caller);
    return this.repository.listTransitions(id);
  }

  /**
   * Applies one FSM event; illegal events, version mismatches and a caller acting on a session that
   * is not its own throw and write nothing. The ownership check runs on the row the event is decided
   * on (a session's agent never changes, so a cached row answers it as well as a fresh one).
   */
  async applyEvent(command: ApplyEventCommand): Promise<{ session: Session; applied: boolean }> {
    const { caller } = command;
    const meta = {
      event: command.event,
      actor: caller ? caller.agentId : command.actor,
      reason: command.reason ?? null,
      causationId: command.causationId ?? null,
      idempotencyKey: command.idempotencyKey,
    };
    return this.repository.applyEvent(
      command.id,
      meta,
      (current): Decision => {
        if (caller) requireMayAct(current, caller);
        if (command.expectedVersion !== undefined && command.expectedVersion !== current.version) {
          throw versionConflict(current.id, command.expectedVersion, current.version);
        }
        const outcome = outcomeOf(current.status, command.event);
        if (outcome.kind === 'illegal') {
          throw illegalTransition(current.id, current.status, command.event, allowedEvents(current.status));
        }
        if (outcome.kind === 'noop') return { kind: 'noop' };
        const now = this.clock.now();
        const timestamps = nextTimestamps(
          {
            lastTransitionAt: new Date(current.lastTransitionAt),
            pausedAt: current.pausedAt ? new Date(current.pausedAt) : null,
            completedAt: current.completedAt ? new Date(current.completedAt) : null,
            failedAt: current.failedAt ? new Date(current.failedAt) : null,
            expiredAt: current.expiredAt ? new Date(current.expiredAt) : null,
          },
          outcome.to,
          now,
        );
        // Validated now: a bad event fails this request, not the batch its transition is written in.
        const event = outboxEvent(SessionTransitioned, {
          sessionId: current.id,
          agentId: current.agentId,
          role: current.role,
          contextId: current.contextId,
          from: current.status,
          to: outcome.to,
          event: meta.event,
          actor: meta.actor,
          reason: meta.reason,
          causationId: meta.causationId,
          version: current.version + 1,
          occurredAt: now.toISOString(),
        });
        return { kind: 'move', to: outcome.to, timestamps, now, event };
      },
    );
  }

  /** Expires open sessions idle longer than `idleTimeoutMs`; returns how many it expired. */
  async sweepIdle(idleTimeoutMs: number, batch = 500): Promise<number> {
    const before = new Date(this.clock.now().getTime() - idleTimeoutMs);
    const ids = await this.repository.findIdle(before, batch);
    let expired = 0;
    for (const id of ids) {
      try {
        const { applied } = await this.applyEvent({ id, event: 'expire', actor: 'system', reason: 'idle timeout' });
        if (applied) expired++;
      } catch (error) {
        // Raced with a live event that ended the session: nothing to expire.
        if (!(error instanceof AppError && (error.code === 'session_illegal_transition' || error.code === 'session_not_found'))) {
          throw error;
        }
      }
    }
    return expired;
  }
}
