import type { DynamicModule } from '@nestjs/common';
import { handlersModule } from '@orgmesh/service-host';
import type { ApprovalDelegations } from '../approval/approval.delegations.js';
import { approvalHandlers } from '../approval/approval.handlers.js';
import type { ApprovalService } from '../approval/approval.service.js';
import type { ApprovalVisibility } from '../approval/approval.visibility.js';
import type { CallerIdentity } from '../identity/caller-identity.js';
import { taskHandlers } from './task.handlers.js';
import type { TaskMetrics } from './task.metrics.js';
import type { TaskService } from './task.service.js';

/** Wires the handlers to instances built outside Nest (so jobs, consumers and tests share them). */
export const TaskModule = {
  register(deps: {
    service: TaskService;
    identity: CallerIdentity;
    metrics: TaskMetrics;
    approvals: ApprovalService;
    delegations: ApprovalDelegations;
    visibility: ApprovalVisibility;
  }): DynamicModule {
    return handlersModule(
      'TaskModule',
      [
        taskHandlers(deps.service, deps.identity, deps.metrics),
        approvalHandlers(deps.approvals, deps.delegations, deps.visibility, deps.identity),
      ],
      [],
    );
  },
};
