import { AppError } from '@orgmesh/contracts';
import type { Caller } from '../task/task.access.js';
import type { ApprovalRepository } from './approval.repository.js';

/**
 * What a signed-in person's event stream may carry (issue 23, ADR 0019): the gateway asks here for
 * each approval event it is about to deliver to a person, live or replayed, with the person's own
 * token, so the rule is the mesh's and reads its routes, decisions and delegations as they are now.
 */
export class ApprovalVisibility {
  constructor(
    private readonly routes: Pick<ApprovalRepository, 'visibleTo'>,
    private readonly now: () => Date,
  ) {}

  async visible(caller: Caller, taskIds: readonly string[]): Promise<{ visible: string[] }> {
    if (!caller.person) {
      // Agents, admins and viewers have their own rules (TASK_VISIBILITY, seesAll): this one is people's.
      throw new AppError('forbidden', 'only a signed-in person asks which approvals they may follow', {
        details: { action: 'person-approval-visibility' },
      });
    }
    const unique = [...new Set(taskIds)];
    return { visible: await this.routes.visibleTo(caller.agentId, unique, this.now()) };
  }
}
