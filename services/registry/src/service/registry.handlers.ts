import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  AgentHeartbeat,
  AssignProfile,
  GetAdminDirectory,
  GetAgent,
  GetDirectory,
  GetDepartmentHead,
  GetManager,
  GetProfile,
  ImportOrg,
  ImportOrgPart,
  ListAgents,
  LoadRegistry,
  RenderConfig,
  ResolvePolicy,
  type RpcRequest,
  type RpcResponse,
} from '@orgmesh/contracts';
import { countOutcome, RpcHandler, type MessageContext } from '@orgmesh/messaging';
import { RegistryService } from './registry.service.js';
import { RegistryAccess } from './registry.access.js';
import { RegistryMetrics } from './registry.metrics.js';

/** NATS RPC endpoints: the transport has already validated the payload; check the caller → service → reply. */
@Controller()
export class RegistryHandlers {
  constructor(
    @Inject(RegistryService) private readonly registry: RegistryService,
    @Inject(RegistryAccess) private readonly access: RegistryAccess,
    @Inject(RegistryMetrics) private readonly metrics: RegistryMetrics,
  ) {}

  @RpcHandler(GetAgent)
  async getAgent(@Payload() request: RpcRequest<typeof GetAgent>): Promise<RpcResponse<typeof GetAgent>> {
    return this.registry.getAgent(request.agentId);
  }

  @RpcHandler(ListAgents)
  async listAgents(
    @Payload() request: RpcRequest<typeof ListAgents>,
  ): Promise<RpcResponse<typeof ListAgents>> {
    return this.registry.listAgents(request);
  }

  @RpcHandler(GetProfile)
  async getProfile(
    @Payload() request: RpcRequest<typeof GetProfile>,
  ): Promise<RpcResponse<typeof GetProfile>> {
    return this.registry.getProfile(request);
  }

  @RpcHandler(ResolvePolicy)
  async resolvePolicy(
    @Payload() request: RpcRequest<typeof ResolvePolicy>,
  ): Promise<RpcResponse<typeof ResolvePolicy>> {
    const decision = this.registry.resolvePolicy(request.from, request.to, request.kind);
    this.metrics.policyDecisions.inc({ decision: decision.allowed ? 'allow' : 'deny' });
    return decision;
  }

  @RpcHandler(RenderConfig)
  async renderConfig(
    @Payload() request: RpcRequest<typeof RenderConfig>,
    @Ctx() context: MessageContext,
  ): Promise<RpcResponse<typeof RenderConfig>> {
    await this.access.requireSelfOrStaff(context, request.agentId);
    return this.registry.renderConfig(request.agentId, request.format);
  }

  @RpcHandler(GetDirectory)
  async directory(
    @Payload() request: RpcRequest<typeof GetDirectory>,
  ): Promise<RpcResponse<typeof GetDirectory>> {
    return this.registry.directory(request);
  }

  /** The directory for an admin (the gateway's /v1/users): the forwarded token verified here, not trusted. */
  @RpcHandler(GetAdminDirectory)
  async adminDirectory(
    @Payload() request: RpcRequest<typeof GetAdminDirectory>,
    @Ctx() context: MessageContext,
  ): Promise<RpcResponse<typeof GetAdminDirectory>> {
    await this.access.requireAdmin(context, 'the org directory');
    return this.registry.directory(request);
  }

  @RpcHandler(GetManager)
  async getManager(
    @Payload() request: RpcRequest<typeof GetManager>,
  ): Promise<RpcResponse<typeof GetManager>> {
    return this.registry.getManager(request.userId);
  }

  @RpcHandler(GetDepartmentHead)
  async departmentHead(
    @Payload() request: RpcRequest<typeof GetDepartmentHead>,
  ): Promise<RpcResponse<typeof GetDepartmentHead>> {
    return this.registry.departmentHead(request.department);
  }

  @RpcHandler(AssignProfile)
  async assignProfile(
    @Payload() request: RpcRequest<typeof AssignProfile>,
    @Ctx() context: MessageContext,
  ): Promise<RpcResponse<typeof AssignProfile>> {
    const actor = await this.access.requireAdmin(context, 'assign-profile');
    return this.registry.assignProfile(request.userId, request.profileId, actor);
  }

  @RpcHandler(ImportOrg)
  async importOrg(
    @Payload() request: RpcRequest<typeof ImportOrg>,
    @Ctx() context: MessageContext,
  ): Promise<RpcResponse<typeof ImportOrg>> {
    return countOutcome(
      (result) => this.metrics.orgImports.inc({ result }),
      async () => {
        const actor = await this.access.requireAdmin(context, 'import-org');
        return this.registry.importOrg(request.upload ?? request.csv!, request.fileName, actor);
      },
      () => 'imported',
    );
  }

  @RpcHandler(ImportOrgPart)
  async importOrgPart(
    @Payload() request: RpcRequest<typeof ImportOrgPart>,
    @Ctx() context: MessageContext,
  ): Promise<RpcResponse<typeof ImportOrgPart>> {
    const actor = await this.access.requireAdmin(context, 'import-org');
    return this.registry.importOrgPart(request, actor);
  }

  @RpcHandler(LoadRegistry)
  async load(
    @Payload() request: RpcRequest<typeof LoadRegistry>,
    @Ctx() context: MessageContext,
  ): Promise<RpcResponse<typeof LoadRegistry>> {
    return countOutcome(
      (result) => this.metrics.loads.inc({ result }),
      async () => {
        const actor = await this.access.requireAdmin(context, 'load');
        return this.registry.loadFiles(request.files, actor);
      },
      (result) => (result.changed ? 'stored' : 'unchanged'),
    );
  }

  @RpcHandler(AgentHeartbeat)
  async heartbeat(
    @Payload() request: RpcRequest<typeof AgentHeartbeat>,
    @Ctx() context: MessageContext,
  ): Promise<RpcResponse<typeof AgentHeartbeat>> {
    return countOutcome(
      (result) => this.metrics.heartbeats.inc({ result }),
      async () => {
        await this.access.requireAgent(context, request.agentId);
        return this.registry.heartbeat(request);
      },
      (result) => (result.drift ? 'drift' : 'in_sync'),
    );
  }
}
