import { AppError } from '@orgmesh/contracts';
import { callerKindOf, isAdmin, type JwtVerifier } from '@orgmesh/auth';
import type { MessageContext } from '@orgmesh/messaging';

/** The actor recorded for admin operations while checks are off (REGISTRY_AUTH=off). */
export const UNCHECKED_ACTOR = 'unchecked';

/**
 * Who may call what. With a verifier, the JWT in the NATS `authorization` header is verified here
 * (every service verifies for itself): admin RPCs need the admin scope, a heartbeat must come from
 * the agent itself (or an admin). Missing or invalid token → `unauthenticated` (401), wrong caller →
 * `forbidden` (403). Without a verifier (REGISTRY_AUTH=off) nothing is checked. Rendered configs and the
 * admin directory are checked here too (issue 18); the other reads are open to the identities the bus
 * lets ask (ADR 0011), and the gateway applies its per-route access rules before forwarding.
 */
export class RegistryAccess {
  constructor(private readonly verifier: JwtVerifier | undefined) {}

  get enabled(): boolean {
    return this.verifier !== undefined;
  }

  /** The admin's subject, for the record (`assignedBy`, `importedBy`, `loaded_by`). */
  async requireAdmin(ctx: MessageContext, operation: string): Promise<string> {
    if (!this.verifier) return UNCHECKED_ACTOR;
    const principal = await this.verifier.verify(ctx.authorization);
    if (!isAdmin(principal)) throw new AppError('forbidden', `${operation} needs an admin token`);
    return principal.subject;
  }

  /** A heartbeat's agent id is the token's subject: an agent reports only for itself. */
  async requireAgent(ctx: MessageContext, agentId: string): Promise<void> {
    if (!this.verifier) return;
    const principal = await this.verifier.verify(ctx.authorization);
    if (principal.subject !== agentId && !isAdmin(principal)) {
      throw new AppError(
        'forbidden',
        `a token for "${principal.subject}" cannot report for agent "${agentId}"`,
      );
    }
  }

  /**
   * An agent's rendered configuration (issue 18): admins and viewers, and an agent its own only —
   * checked here on the forwarded token, not left to the gateway, since agents also reach this RPC
   * on the bus directly.
   */
  async requireSelfOrStaff(ctx: MessageContext, agentId: string): Promise<void> {
    if (!this.verifier) return;
    const principal = await this.verifier.verify(ctx.authorization);
    const kind = callerKindOf(principal);
    if (kind === 'admin' || kind === 'viewer' || (kind === 'agent' && principal.subject === agentId)) return;
    throw new AppError(
      'forbidden',
      `a token for "${principal.subject}" cannot read the configuration of agent "${agentId}"`,
    );
  }
}
