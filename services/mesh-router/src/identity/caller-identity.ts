import { callerKindOf, type JwtVerifier } from '@orgmesh/auth';
import type { MessageContext } from '@orgmesh/messaging';
import type { Caller } from '../task/task.access.js';

/**
 * Who is calling: the JWT in the NATS `authorization` header, verified here (every service
 * verifies for itself). Missing or invalid → `unauthenticated` (401). Nothing in a payload can
 * change the subject or the role.
 */
export class CallerIdentity {
  constructor(private readonly verifier: JwtVerifier) {}

  async of(ctx: MessageContext): Promise<Caller> {
    const principal = await this.verifier.verify(ctx.authorization);
    // The gateway's precedence (admin > agent > person > read): a token that is an agent's is held to the
    // agent rule even if it also carries the read scope.
    const kind = callerKindOf(principal);
    return {
      agentId: principal.subject,
      role: principal.role,
      admin: kind === 'admin',
      seesAll: kind === 'admin' || kind === 'viewer',
      person: kind === 'person',
    };
  }
}
