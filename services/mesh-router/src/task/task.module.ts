import { Module, type DynamicModule } from '@nestjs/common';
import { ApprovalDelegations } from '../approval/approval.delegations.js';
import { ApprovalHandlers } from '../approval/approval.handlers.js';
import { ApprovalService } from '../approval/approval.service.js';
import { ApprovalVisibility } from '../approval/approval.visibility.js';
import { CallerIdentity } from '../identity/caller-identity.js';
import { TaskHandlers } from './task.handlers.js';
import { TaskMetrics } from './task.metrics.js';
import { TaskService } from './task.service.js';

/** Wires the handlers to instances built outside Nest (so jobs, consumers and tests share them). */
@Module({})
export class TaskModule {
  static register(deps: {
    service: TaskService;
    identity: CallerIdentity;
    metrics: TaskMetrics;
    approvals: ApprovalService;
    delegations: ApprovalDelegations;
    visibility: ApprovalVisibility;
  }): DynamicModule {
    return {
      module: TaskModule,
      controllers: [TaskHandlers, ApprovalHandlers],
      providers: [
        { provide: ApprovalService, useValue: deps.approvals },
        { provide: ApprovalDelegations, useValue: deps.delegations },
        { provide: ApprovalVisibility, useValue: deps.visibility },
        { provide: TaskService, useValue: deps.service },
        { provide: CallerIdentity, useValue: deps.identity },
        { provide: TaskMetrics, useValue: deps.metrics },
      ],
    };
  }
}
