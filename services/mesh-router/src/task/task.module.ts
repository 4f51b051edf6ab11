import type { DynamicModule } from '@nestjs/common';
import { handlersModule, instance } from '@orgmesh/service-host';
import { ApprovalDelegations } from '../approval/approval.delegations.js';
import { ApprovalHandlers } from '../approval/approval.handlers.js';
import { ApprovalService } from '../approval/approval.service.js';
import { ApprovalVisibility } from '../approval/approval.visibility.js';
import { CallerIdentity } from '../identity/caller-identity.js';
import { TaskHandlers } from './task.handlers.js';
import { TaskMetrics } from './task.metrics.js';
import { TaskService } from './task.service.js';

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
      [TaskHandlers, ApprovalHandlers],
      [
        instance(ApprovalService, deps.approvals),
        instance(ApprovalDelegations, deps.delegations),
        instance(ApprovalVisibility, deps.visibility),
        instance(TaskService, deps.service),
        instance(CallerIdentity, deps.identity),
        instance(TaskMetrics, deps.metrics),
      ],
    );
  },
};
