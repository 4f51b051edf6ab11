import { randomUUID } from 'node:crypto';
import {
  AppError,
  type Session,
  type SessionEventName,
  type SessionState,
  type SessionTransition,
} from '@orgmesh/contracts';
import { decodeSessionCursor, encodeSessionCursor } from './session.cursor.js';
import { allowedEvents, nextTimestamps, outcomeOf } from './session.fsm.js';
import { illegalTransition, sessionNotFound, versionConflict } from './session.errors.js';
import type { Decision, SessionRepository } from './session.repository.js';

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export interface ApplyEventCommand {
  id: string;
  event: SessionEventName;
  actor: string;
  reason?: string;
  causationId?: string;
  expectedVersion?: number;
  idempotencyKey?: string;
}

/** Session lifecycle rules; all I/O goes through the repository. */
export class SessionService {
  constructor(
    private readonly repository: SessionRepository,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Opens a session, or returns the open one of that agent and context; a repeated idempotency key returns the first result. */
  async create(input: {
    agentId: string;
    role: string;
    contextId?: string;
    metadata?: Record<string, unknown>;
    idempotencyKey?: string;
  }) {
    return this.repository.create({
      agentId: input.agentId,
      role: input.role,
      contextId: input.contextId ?? randomUUID(),
      metadata: input.metadata ?? {},
      now: this.clock.now(),
      idempotencyKey: input.idempotencyKey,
    });
  }

  async get(id: string): Promise<Session> {
    const session = await this.repository.get(id);
    if (!session) throw sessionNotFound(id);
    return session;
  }

  async list(filter: {
    status?: SessionState;
    role?: string;
    agentId?: string;
    contextId?: string;
    limit: number;
    cursor?: string;
  }): Promise<{ items: Session[]; nextCursor: string | null }> {
    const cursor = filter.cursor ? decodeSessionCursor(filter.cursor, this.clock.now()) : undefined;
    const items = await this.repository.list({ ...filter, cursor });
    const last = items[items.length - 1];
    return { items, nextCursor: items.length === filter.limit && last ? encodeSessionCursor(last) : null };
  }

  async listTransitions(id: string): Promise<SessionTransition[]> {
    await this.get(id);
    return this.repository.listTransitions(id);
  }

  /** Applies one FSM event; illegal events and version mismatches throw and write nothing. */
  async applyEvent(command: ApplyEventCommand): Promise<{ session: Session; applied: boolean }> {
    return this.repository.applyEvent(
      command.id,
      {
        event: command.event,
        actor: command.actor,
        reason: command.reason ?? null,
        causationId: command.causationId ?? null,
        idempotencyKey: command.idempotencyKey,
      },
      (current): Decision => {
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
        return { kind: 'move', to: outcome.to, timestamps, now };
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

  /** Deletes terminal sessions older than `retentionMs`, in batches; returns how many. */
  async purgeTerminal(tx: Parameters<SessionRepository['deleteTerminalBefore']>[0], retentionMs: number, batch = 1000) {
    const before = new Date(this.clock.now().getTime() - retentionMs);
    let total = 0;
    for (;;) {
      const deleted = await this.repository.deleteTerminalBefore(tx, before, batch);
      total += deleted;
      if (deleted < batch) break;
    }
    await this.repository.deleteIdempotencyKeysBefore(tx, new Date(this.clock.now().getTime() - 7 * 86_400_000));
    return total;
  }
}
