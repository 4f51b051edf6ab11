import type { Type } from '@nestjs/common';
import { RegistryRpc } from '@orgmesh/contracts';
import { countOutcome, rpcController, rpcRoute } from '@orgmesh/messaging';
import type { RegistryService } from './registry.service.js';
import type { RegistryAccess } from './registry.access.js';
import type { RegistryMetrics } from './registry.metrics.js';

/** NATS RPC endpoints: the transport has already validated the payload; check the caller → service → reply. */
export function registryHandlers(
  registry: RegistryService,
  access: RegistryAccess,
  metrics: RegistryMetrics,
): Type<unknown> {
  return rpcController('RegistryHandlers', [
    // Reads: any caller the bus lets publish the subject (RPC_ACCESS).
    rpcRoute(RegistryRpc.GetAgent, async (request) => registry.getAgent(request.agentId)),
    rpcRoute(RegistryRpc.ListAgents, async (request) => registry.listAgents(request)),
    rpcRoute(RegistryRpc.GetProfile, async (request) => registry.getProfile(request)),
    rpcRoute(RegistryRpc.GetDirectory, async (request) => registry.directory(request)),
    rpcRoute(RegistryRpc.GetManager, async (request) => registry.getManager(request.userId)),
    rpcRoute(RegistryRpc.GetDepartmentHead, async (request) => registry.departmentHead(request.department)),
    rpcRoute(RegistryRpc.ResolvePolicy, async (request) => {
      const decision = registry.resolvePolicy(request.from, request.to, request.kind);
      metrics.policyDecisions.inc({ decision: decision.allowed ? 'allow' : 'deny' });
      return decision;
    }),

    // The forwarded token verified here, not trusted.
    rpcRoute(RegistryRpc.RenderConfig, async (request, context) => {
      await access.requireSelfOrStaff(context, request.agentId);
      return registry.renderConfig(request.agentId, request.format);
    }),
    // The directory for an admin (the gateway's /v1/users).
    rpcRoute(RegistryRpc.GetAdminDirectory, async (request, context) => {
      await access.requireAdmin(context, 'the org directory');
      return registry.directory(request);
    }),
    rpcRoute(RegistryRpc.AssignProfile, async (request, context) => {
      const actor = await access.requireAdmin(context, 'assign-profile');
      return registry.assignProfile(request.userId, request.profileId, actor);
    }),
    rpcRoute(RegistryRpc.ImportOrgPart, async (request, context) => {
      const actor = await access.requireAdmin(context, 'import-org');
      return registry.importOrgPart(request, actor);
    }),

    // Counted by outcome; a refused caller is counted as its error code.
    rpcRoute(RegistryRpc.ImportOrg, (request, context) =>
      countOutcome(
        (result) => metrics.orgImports.inc({ result }),
        async () => {
          const actor = await access.requireAdmin(context, 'import-org');
          return registry.importOrg(request.upload ?? request.csv!, request.fileName, actor);
        },
        () => 'imported',
      ),
    ),
    rpcRoute(RegistryRpc.LoadRegistry, (request, context) =>
      countOutcome(
        (result) => metrics.loads.inc({ result }),
        async () => {
          const actor = await access.requireAdmin(context, 'load');
          return registry.loadFiles(request.files, actor);
        },
        (result) => (result.changed ? 'stored' : 'unchanged'),
      ),
    ),
    rpcRoute(RegistryRpc.AgentHeartbeat, (request, context) =>
      countOutcome(
        (result) => metrics.heartbeats.inc({ result }),
        async () => {
          await access.requireAgent(context, request.agentId);
          return registry.heartbeat(request);
        },
        (result) => (result.drift ? 'drift' : 'in_sync'),
      ),
    ),
  ]);
}
