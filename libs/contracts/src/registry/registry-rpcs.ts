import { AgentHeartbeat } from './agent-heartbeat.rpc.js';
import { AssignProfile } from './assign-profile.rpc.js';
import { GetAdminDirectory } from './get-admin-directory.rpc.js';
import { GetAgent } from './get-agent.rpc.js';
import { GetDepartmentHead } from './get-department-head.rpc.js';
import { GetDirectory } from './get-directory.rpc.js';
import { GetManager } from './get-manager.rpc.js';
import { GetProfile } from './get-profile.rpc.js';
import { ImportOrg, ImportOrgPart } from './import-org.rpc.js';
import { ListAgents } from './list-agents.rpc.js';
import { LoadRegistry } from './load-registry.rpc.js';
import { RenderConfig } from './render-config.rpc.js';
import { ResolvePolicy } from './resolve-policy.rpc.js';

/**
 * Every RPC the registry service serves, by its contract name: what the bus access table grants,
 * the registry's handlers serve and the gateway's registry routes call (`RegistryRpc.GetAgent`), so
 * those places name the one set instead of each importing the same contracts one by one.
 */
export const RegistryRpc = {
  GetAgent,
  ListAgents,
  GetProfile,
  ResolvePolicy,
  GetManager,
  GetDepartmentHead,
  RenderConfig,
  GetDirectory,
  GetAdminDirectory,
  AssignProfile,
  ImportOrg,
  ImportOrgPart,
  LoadRegistry,
  AgentHeartbeat,
} as const;
