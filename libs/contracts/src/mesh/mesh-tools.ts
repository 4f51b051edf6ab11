import type { MeshPermissions } from '../registry/registry.schema.js';

/**
 * The names of the mesh tools as a model or an MCP client calls them. orgmesh-mcp serves them, the
 * reference agents offer them to their model, and the registry names them in the configs it renders
 * (Claude Code's `mcp__orgmesh__<name>` allow and deny lists, the instructions): one list, so a tool
 * renamed on one side cannot leave the others allowing, denying or scripting a tool nobody serves.
 */
export const MESH_TOOL = {
  sendTask: 'send_task',
  requestApproval: 'request_approval',
  notify: 'notify',
  fetchStatus: 'fetch_status',
  listTasks: 'list_tasks',
  completeTask: 'complete_task',
  failTask: 'fail_task',
  decide: 'decide',
  listAgents: 'list_agents',
  getAgent: 'get_agent',
} as const;
export type MeshToolName = (typeof MESH_TOOL)[keyof typeof MESH_TOOL];

/**
 * The tools orgmesh-mcp serves, in name order, each with the mesh permission of the agent's profile
 * it needs (null: always offered). The registry renders a tool as allowed when the profile grants that
 * permission to at least one target, and as denied otherwise.
 */
export const MCP_MESH_TOOLS: ReadonlyArray<
  readonly [tool: MeshToolName, needs: keyof MeshPermissions | null]
> = [
  [MESH_TOOL.completeTask, null],
  [MESH_TOOL.fetchStatus, null],
  [MESH_TOOL.getAgent, null],
  [MESH_TOOL.listAgents, null],
  [MESH_TOOL.listTasks, null],
  [MESH_TOOL.notify, 'notify'],
  [MESH_TOOL.requestApproval, 'requestApprovalFrom'],
  [MESH_TOOL.sendTask, 'sendTaskTo'],
];

/** orgmesh-mcp's server name in every client config, and so the prefix of its tools (`mcp__orgmesh__send_task`). */
export const MCP_SERVER_NAME = 'orgmesh';
