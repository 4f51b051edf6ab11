import { callerKindOf, SCOPES, type CallerKind, type JwtVerifier, type Principal } from '@orgmesh/auth';
import { AppError, type Observer } from '@orgmesh/contracts';
import type { MessageContext } from '@orgmesh/messaging';

/** What a caller is to the session rules, with the gateway's precedence (libs/auth callerKindOf). */
export type SessionCallerKind = CallerKind;

/** The verified caller of an RPC: the token's subject (its agent id) and role, never a payload's. */
export interface SessionCaller extends Observer {
  readonly kind: SessionCallerKind;
}

/**
 * Who is calling: the JWT in the NATS `authorization` header, verified here with the same verifier
 * the gateway uses (every service verifies for itself, so a forged `actor` on the raw bus counts
 * for nothing). Missing or invalid → `unauthenticated`; a token with no orgmesh scope → `forbidden`.
 */
export class CallerIdentity {
  constructor(
    private readonly verifier: JwtVerifier,
    private readonly onRefused: (code: string) => void = () => {},
  ) {}

  async of(ctx: MessageContext): Promise<SessionCaller> {
    try {
      const principal = await this.verifier.verify(ctx.authorization);
      const kind = kindOf(principal);
      return { agentId: principal.subject, role: principal.role, kind, seesAll: kind !== 'agent' };
    } catch (error) {
      this.onRefused(error instanceof AppError ? error.code : 'internal');
      throw error;
    }
  }
}

function kindOf(principal: Principal): SessionCallerKind {
  const kind = callerKindOf(principal);
  // A person of the org chart (issue 23) has no session rule yet: refused rather than read as staff.
  if (kind === 'person') throw new AppError('forbidden', 'a person token does not read or change sessions');
  if (kind) return kind;
  throw new AppError('forbidden', `the token carries none of the scopes ${Object.values(SCOPES).join(', ')}`);
}
