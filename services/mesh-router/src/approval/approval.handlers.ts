import type { Type } from '@nestjs/common';
import {
  DelegateApprovals,
  ListDelegations,
  ListPersonApprovals,
  PersonApprovalVisibility,
  RevokeDelegation,
} from '@orgmesh/contracts';
import { rpcController, rpcRoute } from '@orgmesh/messaging';
import type { CallerIdentity } from '../identity/caller-identity.js';
import type { ApprovalDelegations } from './approval.delegations.js';
import type { ApprovalService } from './approval.service.js';
import type { ApprovalVisibility } from './approval.visibility.js';

/** A signed-in person's approval RPCs (the console's inbox and delegation). Deciding is rpc.mesh.v1.decide. */
export function approvalHandlers(
  approvals: ApprovalService,
  delegationRules: ApprovalDelegations,
  visibility: ApprovalVisibility,
  identity: CallerIdentity,
): Type<unknown> {
  return rpcController('ApprovalHandlers', [
    rpcRoute(ListPersonApprovals, async (request, ctx) =>
      approvals.list(await identity.of(ctx), request.view, request.limit, request.cursor),
    ),
    rpcRoute(PersonApprovalVisibility, async (request, ctx) =>
      visibility.visible(await identity.of(ctx), request.taskIds),
    ),
    rpcRoute(DelegateApprovals, async (request, ctx) =>
      delegationRules.delegate(await identity.of(ctx), request),
    ),
    rpcRoute(ListDelegations, async (_request, ctx) => delegationRules.delegations(await identity.of(ctx))),
    rpcRoute(RevokeDelegation, async (request, ctx) =>
      delegationRules.revoke(await identity.of(ctx), request.id),
    ),
  ]);
}
