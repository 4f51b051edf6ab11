import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  DelegateApprovals,
  ListDelegations,
  ListPersonApprovals,
  PersonApprovalVisibility,
  RevokeDelegation,
  type RpcRequest,
  type RpcResponse,
} from '@orgmesh/contracts';
import { RpcHandler, type MessageContext } from '@orgmesh/messaging';
import { CallerIdentity } from '../identity/caller-identity.js';
import { ApprovalDelegations } from './approval.delegations.js';
import { ApprovalService } from './approval.service.js';
import { ApprovalVisibility } from './approval.visibility.js';

/** A signed-in person's approval RPCs (the console's inbox and delegation). Deciding is rpc.mesh.v1.decide. */
@Controller()
export class ApprovalHandlers {
  constructor(
    @Inject(ApprovalService) private readonly approvals: ApprovalService,
    @Inject(ApprovalDelegations) private readonly delegationRules: ApprovalDelegations,
    @Inject(ApprovalVisibility) private readonly visibility: ApprovalVisibility,
    @Inject(CallerIdentity) private readonly identity: CallerIdentity,
  ) {}

  @RpcHandler(ListPersonApprovals)
  async list(
    @Payload() request: RpcRequest<typeof ListPersonApprovals>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof ListPersonApprovals>> {
    return this.approvals.list(await this.identity.of(ctx), request.view, request.limit, request.cursor);
  }

  @RpcHandler(PersonApprovalVisibility)
  async visible(
    @Payload() request: RpcRequest<typeof PersonApprovalVisibility>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof PersonApprovalVisibility>> {
    return this.visibility.visible(await this.identity.of(ctx), request.taskIds);
  }

  @RpcHandler(DelegateApprovals)
  async delegate(
    @Payload() request: RpcRequest<typeof DelegateApprovals>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof DelegateApprovals>> {
    return this.delegationRules.delegate(await this.identity.of(ctx), request);
  }

  @RpcHandler(ListDelegations)
  async delegations(
    @Payload() _request: RpcRequest<typeof ListDelegations>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof ListDelegations>> {
    return this.delegationRules.delegations(await this.identity.of(ctx));
  }

  @RpcHandler(RevokeDelegation)
  async revoke(
    @Payload() request: RpcRequest<typeof RevokeDelegation>,
    @Ctx() ctx: MessageContext,
  ): Promise<RpcResponse<typeof RevokeDelegation>> {
    return this.delegationRules.revoke(await this.identity.of(ctx), request.id);
  }
}
