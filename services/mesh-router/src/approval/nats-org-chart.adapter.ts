import type { Subscription } from '@nats-io/nats-core';
import {
  AppError,
  GetDepartmentHead,
  GetManager,
  GetProfile,
  type ApprovalRule,
  type OrgUser,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { PolicyCache } from '../policy/policy-cache.js';
import { POLICY_INVALIDATING_EVENTS } from '../policy/nats-policy.adapter.js';
import { departmentWithoutHead } from './approval.errors.js';
import type { OrgChartPort } from './org-chart.port.js';

type ManagerAnswer = { user: OrgUser; manager: OrgUser | null } | null;

/**
 * The org chart and the roles' approval rules over NATS (rpc.registry.v1.get-manager and
 * get-profile, get-department-head), cached like the policy answers: a TTL, and dropped when the registry announces a
 * profile, agent or org change, and on reconnect. The mesh may not read the org directory (ADR 0011),
 * so every lookup is one person, agent or role at a time. A registry that does not answer fails the
 * caller with `unavailable`: an approval is never routed on a guess.
 */
export class NatsOrgChartAdapter implements OrgChartPort {
  private readonly managers: PolicyCache<ManagerAnswer>;
  private readonly rules: PolicyCache<{ profileId: string; rules: ApprovalRule[] }>;
  /** Department (lower case) → its head's user id, null when nobody heads it. */
  private readonly departments: PolicyCache<string | null>;
  private readonly subscriptions: Subscription[] = [];
  private stopStatus: (() => void) | undefined;

  constructor(
    private readonly bus: MessageBus,
    private readonly options: { ttlMs: number; timeoutMs: number },
  ) {
    this.managers = new PolicyCache({ ttlMs: options.ttlMs });
    this.rules = new PolicyCache({ ttlMs: options.ttlMs });
    this.departments = new PolicyCache({ ttlMs: options.ttlMs });
  }

  start(): void {
    for (const event of POLICY_INVALIDATING_EVENTS) {
      this.subscriptions.push(
        this.bus.nc.subscribe(this.bus.subject(event.subject), { callback: () => this.invalidate() }),
      );
    }
    this.stopStatus = this.bus.onStatus((status) => {
      if (status.type === 'reconnect') this.invalidate();
    });
  }

  stop(): void {
    this.stopStatus?.();
    for (const sub of this.subscriptions.splice(0)) sub.unsubscribe();
  }

  invalidate(): void {
    this.managers.clear();
    this.rules.clear();
    this.departments.clear();
  }

  async person(userId: string): Promise<OrgUser | null> {
    const answer = await this.lookup(userId);
    // get-manager also answers an agent or role id with the person heading it: only an exact user counts here.
    return answer && answer.user.userId === userId ? answer.user : null;
  }

  async managerOf(id: string): Promise<OrgUser | null> {
    return (await this.lookup(id))?.manager ?? null;
  }

  async headOf(id: string): Promise<OrgUser | null> {
    return (await this.lookup(id))?.user ?? null;
  }

  /**
   * get-department-head answers ids only (the mesh may not read the directory); the person then
   * comes from get-manager by that id, like every other approver.
   */
  async headOfDepartment(department: string): Promise<OrgUser> {
    const userId = await this.departments.get(department.toLowerCase(), async () => {
      try {
        const head = await this.bus.request(
          GetDepartmentHead,
          { department },
          { timeoutMs: this.options.timeoutMs },
        );
        return head.userId;
      } catch (error) {
        if (error instanceof AppError && error.code === 'not_found') return null;
        throw unavailable(error);
      }
    });
    const head = userId === null ? null : await this.person(userId);
    if (!head) throw departmentWithoutHead(department);
    return head;
  }

  rulesOf(role: string): Promise<{ profileId: string; rules: ApprovalRule[] }> {
    return this.rules.get(role, async () => {
      try {
        const { profile } = await this.bus.request(
          GetProfile,
          { role },
          { timeoutMs: this.options.timeoutMs },
        );
        return { profileId: profile.id, rules: profile.approvals ?? [] };
      } catch (error) {
        if (error instanceof AppError && error.code === 'profile_not_found')
          return { profileId: role, rules: [] };
        throw unavailable(error);
      }
    });
  }

  private lookup(id: string): Promise<ManagerAnswer> {
    return this.managers.get(id, async () => {
      try {
        return await this.bus.request(GetManager, { userId: id }, { timeoutMs: this.options.timeoutMs });
      } catch (error) {
        if (error instanceof AppError && error.code === 'user_not_found') return null;
        throw unavailable(error);
      }
    });
  }
}

function unavailable(error: unknown): AppError {
  if (error instanceof AppError && error.code !== 'timeout' && error.code !== 'internal') return error;
  return new AppError('unavailable', 'the registry did not answer', { cause: error });
}
