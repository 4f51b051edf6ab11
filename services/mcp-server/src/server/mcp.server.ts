import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type {
  CreateTaskRequestHandlerExtra,
  TaskRequestHandlerExtra,
} from '@modelcontextprotocol/sdk/experimental/tasks/interfaces.js';
import type { CreateTaskResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { TokenClaimNames } from '@orgmesh/agent-sdk';
import { MCP_SERVER_NAME, type Task } from '@orgmesh/contracts';
import type { Logger } from '@orgmesh/telemetry';
import { GatewayClient } from '../gateway/gateway.client.js';
import { GatewayError } from '../gateway/gateway.errors.js';
import { guardedToolCall } from './guarded-tool-call.js';
import type { McpMetrics } from './mcp.metrics.js';
import { claimsOf, type TokenSource } from '../gateway/token.provider.js';
import { MESH_TOOLS, requestApproval, type MeshTool, type ToolContext } from '../tools/mesh.tools.js';
import { toolSuccess } from '../tools/tool-result.js';
import {
  approvalProgress,
  approvalResult,
  inlineTask,
  MeshTaskStore,
  toMcpTask,
  waitForDecision,
} from '../tools/approval-tasks.js';
import { TaskAugmentedCalls } from './task-augmented-calls.js';

export const MCP_SERVER_VERSION = '0.1.0';

export interface OrgmeshMcpDeps {
  readonly gatewayUrl: string;
  readonly tokens: TokenSource;
  readonly gatewayTimeoutMs?: number;
  readonly logger: Logger;
  readonly fetch?: typeof fetch;
  /** Counts tool calls that failed in a way no code path anticipated. */
  readonly metrics?: McpMetrics;
  /** Where the token names the agent and its role (an OpenID provider's mapping); default `sub`, `role`. */
  readonly claims?: TokenClaimNames;
  /** How long a request_approval without a task waits for the decision (MCP_APPROVAL_WAIT); 5 min. */
  readonly approvalWaitMs?: number;
  /** The poll interval a task advertises and the blocking wait uses (MCP_TASK_POLL_INTERVAL); 1 s. */
  readonly taskPollIntervalMs?: number;
}

interface ToolConfig {
  readonly title: string;
  readonly description: string;
  readonly inputSchema: MeshTool['inputSchema'];
  readonly annotations: ToolAnnotations;
}

/** The tools served as MCP tasks when the client asks for one (ADR 0017). */
const TASK_TOOLS: ReadonlySet<string> = new Set([requestApproval.name]);

const taskCallsByServer = new WeakMap<McpServer, TaskAugmentedCalls>();

/**
 * What the transport of this server must be told of each request (GuardedTransport's `taskCalls`),
 * so request_approval can tell a task-augmented call from one that waits for its decision.
 */
export function taskCallsOf(server: McpServer): TaskAugmentedCalls | undefined {
  return taskCallsByServer.get(server);
}

export const INSTRUCTIONS =
  'orgmesh connects you with the other agents of your organisation. send_task and request_approval reach another ' +
  'role; notify tells it something; list_tasks shows your inbox and outbox; fetch_status follows a task; ' +
  'complete_task finishes work sent to you (approvals: with a decision); list_agents shows who is there, ' +
  'get_agent one of them in full. Lists answer one line per item; pass detail: true for every field. ' +
  'Errors start with a stable code (policy_denied, task_illegal_transition, validation_failed, …).';

/**
 * What the tools of both protocol eras act through: the gateway with the caller's token, the
 * caller's role from that token, and the approvals' task store (state in the mesh).
 */
export function meshToolContext(deps: OrgmeshMcpDeps): {
  ctx: ToolContext;
  store: MeshTaskStore;
  pollIntervalMs: number;
} {
  const gateway = new GatewayClient({
    gatewayUrl: deps.gatewayUrl,
    tokens: deps.tokens,
    timeoutMs: deps.gatewayTimeoutMs,
    fetch: deps.fetch,
  });
  const ctx: ToolContext = {
    gateway,
    callerRole: async () => claimsOf(await deps.tokens.token(), deps.claims).role,
  };
  const pollIntervalMs = deps.taskPollIntervalMs ?? 1_000;
  return {
    ctx,
    store: new MeshTaskStore({ gateway, callerRole: ctx.callerRole, pollIntervalMs }),
    pollIntervalMs,
  };
}

/** An MCP server exposing the mesh tools, each one a call to the gateway with the caller's token. */
export function createOrgmeshMcpServer(deps: OrgmeshMcpDeps): McpServer {
  const { ctx, store, pollIntervalMs } = meshToolContext(deps);
  const taskCalls = new TaskAugmentedCalls(TASK_TOOLS);
  const server = new McpServer(
    { name: MCP_SERVER_NAME, version: MCP_SERVER_VERSION },
    {
      instructions: INSTRUCTIONS,
      // MCP 2025-11-25 tasks: tool calls may ask for one; tasks/get, tasks/result, tasks/list and
      // tasks/cancel are answered from the mesh through this store (ADR 0017).
      capabilities: { tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } },
      taskStore: store,
    },
  );
  taskCallsByServer.set(server, taskCalls);

  const guarded = guardedToolCall(deps.logger, deps.metrics);

  for (const tool of MESH_TOOLS) {
    const config: ToolConfig = {
      title: tool.title,
      description: tool.description,
      inputSchema: tool.inputSchema,
      annotations: {
        title: tool.title,
        readOnlyHint: tool.readOnly,
        destructiveHint: false,
        openWorldHint: false,
      },
    };
    if (TASK_TOOLS.has(tool.name)) {
      registerApprovalTask(tool, config);
      continue;
    }
    server.registerTool(tool.name, config, async (args: Record<string, unknown>) =>
      guarded(tool.name, args, async () => toolSuccess(await tool.run(args as never, ctx))),
    );
  }

  /**
   * request_approval as a task tool (`execution.taskSupport: optional`). Asked for a task, it answers
   * at once with the mesh approval as the task. Otherwise it is the blocking fallback: it waits for
   * the decision (progress notifications if the client gave a progressToken) up to approvalWaitMs,
   * or returns at once with `wait: false`. The SDK then reads the outcome through the store.
   */
  function registerApprovalTask(tool: MeshTool, config: ToolConfig) {
    const waitMs = deps.approvalWaitMs ?? 300_000;
    const create = async (
      args: Record<string, unknown>,
      extra: CreateTaskRequestHandlerExtra,
    ): Promise<CreateTaskResult> => {
      const asTask = taskCalls.take(extra.requestId);
      let outcome: Task | undefined;
      const result = await guarded(tool.name, args, async () => {
        const created = (await tool.run(args as never, ctx)) as Task;
        if (asTask || args['wait'] === false) {
          outcome = created;
          return toolSuccess(created);
        }
        const progressToken = extra._meta?.progressToken;
        outcome = await waitForDecision(store, created, {
          waitMs,
          pollIntervalMs,
          signal: extra.signal,
          onProgress: approvalProgress(progressToken, (notification) => extra.sendNotification(notification)),
        });
        return approvalResult(outcome);
      });
      // A task-augmented call gets the approval itself; anything else (a refusal, the fallback's
      // outcome) is a task that already holds its result.
      if (asTask && outcome && !result.isError) return { task: toMcpTask(outcome, pollIntervalMs) };
      return { task: inlineTask(result, new Date()) };
    };
    server.experimental.tasks.registerToolTask(
      tool.name,
      { ...config, execution: { taskSupport: 'optional' } },
      {
        createTask: create as never,
        getTask: async (_args: unknown, extra: TaskRequestHandlerExtra) => {
          const task = await store.getTask(extra.taskId);
          if (!task) throw new GatewayError('task_not_found', `task ${extra.taskId} not found`, 404);
          return task;
        },
        getTaskResult: async (_args: unknown, extra: TaskRequestHandlerExtra) =>
          store.getTaskResult(extra.taskId),
      },
    );
  }
  return server;
}
