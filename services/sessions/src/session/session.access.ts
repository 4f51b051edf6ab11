import { AppError, canSeeSession, type Session } from '@orgmesh/contracts';
import type { SessionCaller } from '../identity/caller-identity.js';

/**
 * Who may do what with sessions (one rule with the gateway's event streams: libs/contracts
 * `canSeeSession`). An agent reads and acts on its own sessions only and opens sessions for itself
 * as its own role; admins act on any session and viewers read all, change none.
 */
export function requireMayRead(session: Pick<Session, 'id' | 'agentId'>, caller: SessionCaller): void {
  if (!canSeeSession(session, caller)) throw notYours(session, caller, 'reads');
}

export function requireMayAct(session: Pick<Session, 'id' | 'agentId'>, caller: SessionCaller): void {
  requireWriter(caller, 'changing a session');
  if (!canSeeSession(session, caller)) throw notYours(session, caller, 'acts on');
}

export function requireMayOpen(input: { agentId: string; role: string }, caller: SessionCaller): void {
  requireWriter(caller, 'opening a session');
  if (caller.kind !== 'agent') return;
  if (input.agentId !== caller.agentId || input.role !== caller.role) {
    throw new AppError(
      'forbidden',
      `an agent opens sessions for itself as its own role only: the request names agent "${input.agentId}" ` +
        `of role "${input.role}", the caller is "${caller.agentId}" of role "${caller.role}"`,
      { details: { callerAgentId: caller.agentId, agentId: input.agentId, callerRole: caller.role, role: input.role } },
    );
  }
}

/** The agent filter a list runs with: an agent's own sessions, whatever it asked for. */
export function listFilterAgent(requested: string | undefined, caller: SessionCaller): string | undefined {
  if (caller.kind !== 'agent') return requested;
  if (requested !== undefined && requested !== caller.agentId) {
    throw new AppError(
      'forbidden',
      `an agent lists its own sessions only: the request names agent "${requested}", the caller is "${caller.agentId}"`,
      { details: { callerAgentId: caller.agentId, agentId: requested } },
    );
  }
  return caller.agentId;
}

function requireWriter(caller: SessionCaller, what: string): void {
  if (caller.kind === 'viewer') {
    throw new AppError('forbidden', `${what} requires admin or agent; the caller is viewer`, {
      details: { requiredKinds: ['admin', 'agent'], callerKind: caller.kind },
    });
  }
}

function notYours(session: Pick<Session, 'id' | 'agentId'>, caller: SessionCaller, verb: string): AppError {
  return new AppError(
    'forbidden',
    `an agent ${verb} its own sessions only: session ${session.id} belongs to agent "${session.agentId}", ` +
      `the caller is "${caller.agentId}"`,
    { details: { callerAgentId: caller.agentId, agentId: session.agentId } },
  );
}
