import {
  McpServer as ModernMcpServer,
  ProtocolError,
  ProtocolErrorCode,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { MCP_SERVER_NAME, type Task } from '@orgmesh/contracts';
import { GatewayError } from '../gateway/gateway.errors.js';
import {
  approvalProgress,
  approvalResult,
  mcpStatusOf,
  toMcpTask,
  waitForDecision,
} from '../tools/approval-tasks.js';
import { MESH_TOOLS, requestApproval } from '../tools/mesh.tools.js';
import { toolSuccess } from '../tools/tool-result.js';
import { guardedToolCall } from './guarded-tool-call.js';
import { INSTRUCTIONS, MCP_SERVER_VERSION, meshToolContext, type OrgmeshMcpDeps } from './mcp.server.js';

/**
 * orgmesh-mcp on MCP 2026-07-28 (ADR 0017): the same tools on the official SDK's v2 server, which
 * implements that revision (per-request `_meta` envelope, `server/discover`, no session). Served next to
 * the 2025-era server: http.transport.ts routes each request by era, main.ts each stdio connection.
 *
 * Approvals use the Tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) when the request
 * declares it in its client capabilities: `tools/call` answers `resultType: "task"` whose id is the
 * mesh approval's id, `tasks/get` answers the task with its result (or error) inline once decided,
 * `tasks/cancel` cancels the mesh approval. SDK 2.4.0 has no server side of the extension, so the
 * three methods are registered here by hand over the same mesh-backed store the 2025-11-25 tasks use.
 */
export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
const CLIENT_CAPABILITIES_KEY = 'io.modelcontextprotocol/clientCapabilities';

/** The 2026-07-28 Tasks extension's task (`ttlMs`, `pollIntervalMs`: renamed from 2025-11-25's). */
function toExtensionTask(task: Task, pollIntervalMs: number) {
  const base = toMcpTask(task, pollIntervalMs);
  return {
    taskId: base.taskId,
    status: base.status,
    statusMessage: base.statusMessage,
    createdAt: base.createdAt,
    lastUpdatedAt: base.lastUpdatedAt,
    ttlMs: null,
    pollIntervalMs,
  };
}

/**
 * What `tasks/get` answers: the task, with the tool result inline once it is decided. A mesh failure
 * or cancellation of the approval is the tool's answer (`isError`), not a JSON-RPC error of the
 * call, so it is `completed` with that result; only a task cancelled through tasks/cancel is
 * `cancelled`.
 */
function detailedTask(task: Task, pollIntervalMs: number) {
  const base = toExtensionTask(task, pollIntervalMs);
  if (task.state === 'canceled') return { ...base, status: 'cancelled' as const };
  if (mcpStatusOf(task) === 'working') return base;
  return {
    ...base,
    status: 'completed' as const,
    result: { resultType: 'complete', ...approvalResult(task) },
  };
}

function declaresTasks(ctx: ServerContext): boolean {
  const capabilities = ctx.mcpReq.envelope?.[CLIENT_CAPABILITIES_KEY as never] as
    { extensions?: Record<string, unknown> } | undefined;
  const declared = capabilities?.extensions?.[TASKS_EXTENSION];
  return typeof declared === 'object' && declared !== null;
}

const taskIdParams = z.looseObject({ taskId: z.string().max(200) });

/** One 2026-07-28 server for one request (createMcpHandler builds one per request). */
export function createModernMcpServer(deps: OrgmeshMcpDeps): ModernMcpServer {
  const { ctx, store, pollIntervalMs } = meshToolContext(deps);
  const waitMs = deps.approvalWaitMs ?? 300_000;
  const guarded = guardedToolCall(deps.logger, deps.metrics);
  const server = new ModernMcpServer(
    { name: MCP_SERVER_NAME, version: MCP_SERVER_VERSION },
    { instructions: INSTRUCTIONS, capabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
  );

  for (const tool of MESH_TOOLS) {
    const config = {
      title: tool.title,
      description: tool.description,
      inputSchema: z.object(tool.inputSchema),
      annotations: {
        title: tool.title,
        readOnlyHint: tool.readOnly,
        destructiveHint: false,
        openWorldHint: false,
      },
    };
    if (tool.name !== requestApproval.name) {
      server.registerTool(tool.name, config, async (args: Record<string, unknown>) =>
        guarded(tool.name, args, async () => toolSuccess(await tool.run(args as never, ctx))),
      );
      continue;
    }
    server.registerTool(tool.name, config, async (args: Record<string, unknown>, call: ServerContext) => {
      let created: Task | undefined;
      const asTask = declaresTasks(call);
      const result: CallToolResult = await guarded(tool.name, args, async () => {
        created = (await tool.run(args as never, ctx)) as Task;
        if (asTask || args['wait'] === false) return toolSuccess(created);
        const progressToken = call.mcpReq._meta?.progressToken;
        const decided = await waitForDecision(store, created, {
          waitMs,
          pollIntervalMs,
          signal: call.mcpReq.signal,
          onProgress: approvalProgress(progressToken, (notification) => call.mcpReq.notify(notification)),
        });
        return approvalResult(decided);
      });
      // Task creation is the server's call per request: a refusal is the plain tool error.
      if (asTask && created && !result.isError) {
        return { resultType: 'task', ...toExtensionTask(created, pollIntervalMs) } as never;
      }
      return result as never;
    });
  }

  const notFound = (taskId: string) =>
    new ProtocolError(ProtocolErrorCode.InvalidParams, `Task not found: ${taskId}`);
  server.server.setRequestHandler('tasks/get', { params: taskIdParams }, async ({ taskId }) => {
    const task = await store.fetch(taskId);
    if (!task) throw notFound(taskId);
    return detailedTask(task, pollIntervalMs);
  });
  server.server.setRequestHandler('tasks/cancel', { params: taskIdParams }, async ({ taskId }) => {
    const task = await store.fetch(taskId);
    if (!task) throw notFound(taskId);
    if (mcpStatusOf(task) !== 'working') {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Cannot cancel task in terminal status: ${taskId}`,
      );
    }
    try {
      await store.updateTaskStatus(taskId, 'cancelled');
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      // The store speaks the v1 SDK's McpError; the codes are JSON-RPC's either way.
      const { code, message } = error as { code: number; message: string };
      throw new ProtocolError(code, message);
    }
    return {};
  });
  server.server.setRequestHandler('tasks/update', { params: taskIdParams }, async ({ taskId }) => {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `Task ${taskId} requests no input: an approval is decided in the mesh`,
    );
  });
  return server;
}
