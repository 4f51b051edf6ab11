import { AppError, type Observer } from '@orgmesh/contracts';
import { callerKindOf, SCOPES, type CallerKind, type Principal } from '@orgmesh/auth';

/** What a caller is to the gateway's access rules (ARCHITECTURE §7); the precedence is libs/auth's. */
export { callerKindOf, type CallerKind };

/** A verified caller: the principal, its kind and the header to forward on NATS. */
export interface Caller {
  readonly principal: Principal;
  readonly kind: CallerKind;
  readonly subject: string;
  readonly role: string;
  /** `Bearer <token>`: forwarded in the NATS `authorization` header so each service verifies it too. */
  readonly authorization: string;
}

export function toCaller(principal: Principal): Caller {
  const kind = callerKindOf(principal);
  if (!kind) {
    throw new AppError(
      'forbidden',
      `the token carries none of the scopes ${Object.values(SCOPES).join(', ')}`,
    );
  }
  return {
    principal,
    kind,
    subject: principal.subject,
    role: principal.role,
    authorization: `Bearer ${principal.token}`,
  };
}

/** The caller as the shared visibility rule (libs/contracts) sees it: admins and viewers see everything. */
export function observerOf(caller: Caller): Observer {
  return {
    agentId: caller.subject,
    role: caller.role,
    seesAll: caller.kind === 'admin' || caller.kind === 'viewer',
  };
}

/** Throws `forbidden` unless the caller is one of the kinds. */
export function requireKind(caller: Caller, kinds: readonly CallerKind[], what: string): void {
  if (!kinds.includes(caller.kind)) {
    throw new AppError('forbidden', `${what} requires ${kinds.join(' or ')}; the caller is ${caller.kind}`, {
      details: { requiredKinds: [...kinds], callerKind: caller.kind },
    });
  }
}

/** An agent acts for its own role only; admins and viewers are not bound to a role. */
export function requireOwnRole(caller: Caller, role: string, what: string): void {
  if (caller.kind === 'agent' && role !== caller.role) {
    throw new AppError(
      'forbidden',
      `an agent acts as its own role only: ${what} belongs to role "${role}", the caller is "${caller.role}"`,
      {
        details: { callerRole: caller.role, role },
      },
    );
  }
}

/** An agent acts as itself only (its agent id is the token subject). */
export function requireSelf(caller: Caller, agentId: string, what: string): void {
  if (caller.kind === 'agent' && agentId !== caller.subject) {
    throw new AppError(
      'forbidden',
      `an agent acts as itself only: ${what} names agent "${agentId}", the caller is "${caller.subject}"`,
      {
        details: { callerAgentId: caller.subject, agentId },
      },
    );
  }
}

/**
 * The role a read is confined to: an agent's own (naming another is 403, as requireOwnRole); for
 * admins and viewers, the role they named, if any.
 */
export function ownRoleFilter(caller: Caller, named: string | undefined, what: string): string | undefined {
  if (named !== undefined) requireOwnRole(caller, named, what);
  return caller.kind === 'agent' ? caller.role : named;
}

/**
 * The agent a read is confined to: an agent itself (naming another is 403, as requireSelf); for
 * admins and viewers, the agent they named, if any.
 */
export function selfFilter(caller: Caller, named: string | undefined, what: string): string | undefined {
  if (named !== undefined) requireSelf(caller, named, what);
  return caller.kind === 'agent' ? caller.subject : named;
}
