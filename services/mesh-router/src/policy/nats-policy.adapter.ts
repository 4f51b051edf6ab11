import type { Subscription } from '@nats-io/nats-core';
import {
  AgentRegistered,
  AgentRemoved,
  AgentUpdated,
  AppError,
  GetManager,
  OrgImported,
  ProfilePublished,
  ResolvePolicy,
  type PolicyKind,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';
import { PolicyCache } from './policy-cache.js';
import type { EscalationTarget, PolicyPort, PolicyVerdict } from './policy.port.js';

/** Registry events after which a cached answer may be wrong. Presence and drift events are not among them. */
export const POLICY_INVALIDATING_EVENTS = [
  ProfilePublished,
  AgentRegistered,
  AgentUpdated,
  AgentRemoved,
  OrgImported,
];

/**
 * The registry over NATS. Policy answers are cached (TTL) and dropped as soon as the registry
 * announces a change: every replica listens to the registry's events on plain NATS subscriptions
 * (JetStream-published events reach core subscribers too), so invalidation needs no durable
 * consumer per replica. A reconnect clears the cache as well, since events may have been missed.
 * A registry that does not answer makes sends fail closed with `unavailable`.
 */
export class NatsPolicyAdapter implements PolicyPort {
  private readonly cache: PolicyCache<PolicyVerdict>;
  private readonly subscriptions: Subscription[] = [];
  private stopStatus: (() => void) | undefined;
  private newestVersion = 0;
  /** Cache invalidations since start (metrics, tests). */
  invalidations = 0;

  constructor(
    private readonly bus: MessageBus,
    private readonly logger: Logger,
    private readonly options: { ttlMs: number; timeoutMs: number },
  ) {
    this.cache = new PolicyCache({ ttlMs: options.ttlMs });
  }

  start(): void {
    for (const event of POLICY_INVALIDATING_EVENTS) {
      this.subscriptions.push(
        this.bus.nc.subscribe(this.bus.subject(event.subject), {
          callback: () => this.invalidate(event.subject),
        }),
      );
    }
    this.stopStatus = this.bus.onStatus((status) => {
      if (status.type === 'reconnect') this.invalidate('reconnect');
    });
  }

  stop(): void {
    this.stopStatus?.();
    for (const sub of this.subscriptions.splice(0)) sub.unsubscribe();
  }

  invalidate(cause: string): void {
    this.invalidations++;
    this.cache.clear();
    this.logger.debug({ cause }, 'policy cache invalidated');
  }

  async resolve(fromRole: string, to: string, kind: PolicyKind): Promise<PolicyVerdict> {
    return this.cache.get(`${fromRole}\u0000${to}\u0000${kind}`, async () => {
      const answer = await this.bus
        .request(ResolvePolicy, { from: fromRole, to, kind }, { timeoutMs: this.options.timeoutMs })
        .catch((error: unknown) => {
          throw registryUnavailable(error);
        });
      // A newer registry version than any answer cached so far: the older answers may be stale.
      if (answer.version > this.newestVersion) {
        if (this.newestVersion !== 0) this.invalidate('registry version');
        this.newestVersion = answer.version;
      }
      return { allowed: answer.allowed, rule: answer.rule, toRole: answer.toRole };
    });
  }

  /**
   * The org chart knows people, the mesh knows roles and agents: the approver is looked up as its
   * agent id when the approval names one, then as its role id (the registry resolves a role id to
   * the person heading that role). The first one the chart knows decides.
   */
  async managerOf(approver: { role: string; agentId: string | null }): Promise<EscalationTarget | null> {
    const candidates = [approver.agentId, approver.role].filter((c): c is string => Boolean(c));
    for (const userId of candidates) {
      try {
        const { manager } = await this.bus.request(
          GetManager,
          { userId },
          { timeoutMs: this.options.timeoutMs },
        );
        return manager ? { userId: manager.userId, role: manager.role, name: manager.name } : null;
      } catch (error) {
        if (error instanceof AppError && error.code === 'user_not_found') continue;
        throw registryUnavailable(error);
      }
    }
    return null;
  }
}

function registryUnavailable(error: unknown): AppError {
  if (error instanceof AppError && error.code !== 'timeout' && error.code !== 'internal') return error;
  return new AppError('unavailable', 'the registry did not answer', { cause: error });
}
