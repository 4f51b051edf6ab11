import { randomUUID } from 'node:crypto';
import { AppError, type ApprovalDelegation } from '@orgmesh/contracts';
import type { Caller } from '../task/task.access.js';
import type { ApprovalRepository, DelegationRow } from './approval.repository.js';
import { invalidDelegation, peopleDecideOnly } from './approval.errors.js';
import type { OrgChartPort } from './org-chart.port.js';

const MAX_DELEGATION_MS = 90 * 86_400_000;

/**
 * A person's delegations (ADR 0019): who may decide their approvals for a while. Only writing and
 * listing them is here; the approval service reads the standing ones when a person decides or lists.
 */
export class ApprovalDelegations {
  constructor(
    private readonly routes: Pick<
      ApprovalRepository,
      'insertDelegation' | 'delegationsOf' | 'revokeDelegation'
    >,
    private readonly org: OrgChartPort,
    private readonly now: () => Date,
  ) {}

  async delegate(
    caller: Caller,
    command: { to: string; startsAt?: string; endsAt: string },
  ): Promise<{ id: string; from: string; to: string; startsAt: string; endsAt: string }> {
    if (!caller.person) throw peopleDecideOnly('delegate approvals (a person token is needed)');
    const now = this.now();
    const startsAt = command.startsAt ? new Date(command.startsAt) : now;
    const endsAt = new Date(command.endsAt);
    if (command.to === caller.agentId)
      throw invalidDelegation('a person cannot delegate to themselves', 'to');
    if (!(await this.org.person(caller.agentId)))
      throw peopleDecideOnly('delegate approvals: the caller is not in the org chart');
    if (endsAt <= startsAt || endsAt <= now)
      throw invalidDelegation('endsAt must be after startsAt and now', 'endsAt');
    if (endsAt.getTime() - now.getTime() > MAX_DELEGATION_MS)
      throw invalidDelegation('a delegation lasts at most 90 days', 'endsAt');
    if (!(await this.org.person(command.to)))
      throw invalidDelegation(`no person "${command.to}" in the org chart`, 'to');
    const id = randomUUID();
    await this.routes.insertDelegation({ id, from: caller.agentId, to: command.to, startsAt, endsAt, now });
    return {
      id,
      from: caller.agentId,
      to: command.to,
      startsAt: startsAt.toISOString(),
      endsAt: endsAt.toISOString(),
    };
  }

  async delegations(
    caller: Caller,
  ): Promise<{ given: ApprovalDelegation[]; received: ApprovalDelegation[] }> {
    if (!caller.person) throw peopleDecideOnly('list delegations (a person token is needed)');
    const rows = (await this.routes.delegationsOf(caller.agentId, this.now())).map(toDelegation);
    return {
      given: rows.filter((d) => d.from === caller.agentId),
      received: rows.filter((d) => d.to === caller.agentId),
    };
  }

  async revoke(caller: Caller, id: string): Promise<ApprovalDelegation> {
    if (!caller.person) throw peopleDecideOnly('revoke a delegation (a person token is needed)');
    const row = await this.routes.revokeDelegation(id, caller.agentId, this.now());
    if (!row)
      throw new AppError('not_found', `no delegation ${id} given by ${caller.agentId}`, { details: { id } });
    return toDelegation(row);
  }
}

const toDelegation = (row: DelegationRow): ApprovalDelegation => ({
  id: row.id,
  from: row.from_user,
  to: row.to_user,
  startsAt: row.starts_at.toISOString(),
  endsAt: row.ends_at.toISOString(),
});
