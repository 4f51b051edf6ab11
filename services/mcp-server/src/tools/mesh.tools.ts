import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  APPROVAL_DECISIONS,
  MESH_TOOL,
  TASK_KINDS,
  TASK_PRIORITIES,
  TASK_STATES,
  type AgentPresence,
  type MeshToolName,
  type RegistryAgent,
  type Task,
  type TaskPriority,
} from '@orgmesh/contracts';
import type { GatewayClient } from '../gateway/gateway.client.js';
import { GatewayError } from '../gateway/gateway.errors.js';
import { agentSummary, summarisePage, taskSummary, withoutNulls } from './compact-answers.js';

/** What a tool needs: the gateway, and who the caller is (its token's role, for inbox filters). */
export interface ToolContext {
  readonly gateway: GatewayClient;
  readonly callerRole: () => Promise<string | undefined>;
}

type Shape = z.ZodRawShape;
type AgentListItem = { agent: RegistryAgent; presence: AgentPresence };

/** One MCP tool: its zod input shape (the MCP input schema) and what it does against the gateway. */
export interface MeshTool<S extends Shape = Shape> {
  readonly name: MeshToolName;
  readonly title: string;
  readonly description: string;
  readonly inputSchema: S;
  readonly readOnly: boolean;
  run(args: z.infer<z.ZodObject<S>>, ctx: ToolContext): Promise<unknown>;
}

function defineTool<S extends Shape>(tool: MeshTool<S>): MeshTool<S> {
  return tool;
}

const to = z
  .string()
  .min(1)
  .max(100)
  .describe(
    'The recipient: a role id, e.g. "manager" or "legal" (any agent of the role may take it), or an agent id, ' +
      'e.g. "contracts-agent" (only that agent). list_agents shows both. A name that is neither is refused.',
  );
const agentId = z
  .string()
  .min(1)
  .max(200)
  .optional()
  .describe('Optional, with a role in `to`: one agent of that role (an agent id) instead of any of them.');
const contextId = z
  .string()
  .min(1)
  .max(200)
  .optional()
  .describe(
    'The workflow this belongs to (an A2A contextId). Reuse the contextId of the task you are working on; omitted: a new workflow.',
  );
const deadline = z.iso
  .datetime({ offset: true })
  .optional()
  .describe('Optional absolute deadline (ISO 8601); the mesh applies a default per kind.');
const priority = z.enum(TASK_PRIORITIES).optional().describe('low | normal (default) | high | urgent');
const idempotencyKey = z
  .string()
  .min(1)
  .max(200)
  .optional()
  .describe('Optional: repeat a call with the same key to get the first result instead of a duplicate.');
const detail = z
  .boolean()
  .optional()
  .describe('true: every item in full instead of one line each (large; prefer the get-one tools).');
const taskId = z.uuid().describe('The task id (from send_task, request_approval, notify or list_tasks).');

/** What a send_task and a request_approval take after their own fields. */
const createOptions = { contextId, deadline, priority, idempotencyKey };

/** The mesh resolves a bare id (agent or role) itself; with `agentId` the id in `to` is the role it must act for. */
function recipient(to: string, agent: string | undefined): string | { role: string; agentId: string } {
  return agent ? { role: to, agentId: agent } : to;
}

interface CreateArgs {
  readonly to: string;
  readonly agentId?: string | undefined;
  readonly contextId?: string | undefined;
  readonly deadline?: string | undefined;
  readonly priority?: TaskPriority | undefined;
  readonly idempotencyKey?: string | undefined;
}

/** A task, approval or notification created through the gateway, with a fresh idempotency key unless given. */
async function create(
  gateway: GatewayClient,
  path: '/v1/tasks' | '/v1/approvals' | '/v1/notifications',
  args: CreateArgs,
  fields: Record<string, unknown>,
): Promise<unknown> {
  return withoutNulls(
    await gateway.request('POST', path, {
      body: {
        to: recipient(args.to, args.agentId),
        ...fields,
        contextId: args.contextId,
        deadline: args.deadline,
        priority: args.priority,
      },
      idempotencyKey: args.idempotencyKey ?? randomUUID(),
    }),
  );
}

export const sendTask = defineTool({
  name: MESH_TOOL.sendTask,
  title: 'Send a task',
  description:
    "Send a task to another role's inbox (or one agent's) through the orgmesh mesh. Returns the task (id, state, contextId). " +
    'The mesh checks the policy: a refused send fails with policy_denied naming the rule. Follow it with fetch_status.',
  inputSchema: {
    to,
    agentId,
    type: z.string().min(1).max(200).describe('What kind of task, e.g. "sox-review" or "budget-review".'),
    input: z.unknown().optional().describe('The task input: any JSON value the recipient needs.'),
    ...createOptions,
  },
  readOnly: false,
  run: (args, { gateway }) => create(gateway, '/v1/tasks', args, { type: args.type, input: args.input }),
});

export const requestApproval = defineTool({
  name: MESH_TOOL.requestApproval,
  title: 'Request an approval',
  description:
    'Ask another role to approve or reject something, and wait for the decision: the answer is the approval with its ' +
    "decision (approve | reject, comment). Not decided within the server's limit (5 min by default): approval_pending " +
    'with its id; it stays open, follow it with fetch_status. wait: false returns the approval at once. Clients that ' +
    'support MCP tasks get a task instead. Your session waits (pauses) until it is decided.',
  inputSchema: {
    to,
    agentId,
    subject: z.string().min(1).max(500).describe('One line: what is to be approved.'),
    details: z.unknown().optional().describe('Everything the approver needs to decide: any JSON value.'),
    ...createOptions,
    wait: z
      .boolean()
      .optional()
      .describe('false: return the approval at once instead of waiting for the decision (default true).'),
  },
  readOnly: false,
  run: (args, { gateway }) =>
    create(gateway, '/v1/approvals', args, { subject: args.subject, details: args.details }),
});

export const notify = defineTool({
  name: MESH_TOOL.notify,
  title: 'Notify a role',
  description:
    'Fire-and-forget message to a role or one agent, delivered durably. Returns the notification (a task of kind notification).',
  inputSchema: {
    to,
    agentId,
    message: z.string().min(1).max(20_000).describe('The message text.'),
    priority,
    contextId,
    idempotencyKey,
  },
  readOnly: false,
  run: (args, { gateway }) => create(gateway, '/v1/notifications', args, { message: args.message }),
});

export const fetchStatus = defineTool({
  name: MESH_TOOL.fetchStatus,
  title: 'Fetch a task',
  description:
    "A task's state, history, result and (for an approval) decision. Only the task's sender and recipients may read it.",
  inputSchema: {
    taskId,
    includeHistory: z.boolean().optional().describe('Include the event history (default true).'),
  },
  readOnly: true,
  run: async (args, { gateway }) =>
    withoutNulls(
      await gateway.request('GET', `/v1/tasks/${encodeURIComponent(args.taskId)}`, {
        query: { includeHistory: args.includeHistory ?? true },
      }),
    ),
});

export const listTasks = defineTool({
  name: MESH_TOOL.listTasks,
  title: 'List tasks',
  description:
    "Your role's inbox (inbound), outbox (outbound) or both (any, the default), newest first. " +
    'Filter by state, kind or contextId; page with the nextCursor of the previous answer.',
  inputSchema: {
    direction: z
      .enum(['inbound', 'outbound', 'any'])
      .optional()
      .describe('inbound = sent to your role, outbound = sent by it, any (default).'),
    state: z
      .enum(TASK_STATES)
      .optional()
      .describe('Only tasks in this state, e.g. "submitted" for new work.'),
    kind: z.enum(TASK_KINDS).optional().describe('task | approval | notification'),
    contextId: z.string().min(1).max(200).optional().describe('Only tasks of this workflow.'),
    limit: z.number().int().min(1).max(100).optional().describe('Page size, 1–100 (default 20).'),
    cursor: z.string().min(1).max(2000).optional().describe('The nextCursor of the previous page.'),
    detail,
  },
  readOnly: true,
  async run(args, { gateway, callerRole }) {
    const page = await gateway.request<{ items: Task[]; nextCursor: string | null }>('GET', '/v1/tasks', {
      query: {
        role: await callerRole(),
        direction: args.direction ?? 'any',
        state: args.state,
        kind: args.kind,
        contextId: args.contextId,
        limit: args.limit ?? 20,
        cursor: args.cursor,
      },
    });
    return args.detail ? page : summarisePage(page, taskSummary);
  },
});

export const completeTask = defineTool({
  name: MESH_TOOL.completeTask,
  title: 'Complete a task',
  description:
    'Finish a task sent to your role: completed with a result (default), failed or rejected with a reason. ' +
    'For an approval, give decision approve | reject (and a comment) instead.',
  inputSchema: {
    taskId,
    outcome: z
      .enum(['completed', 'failed', 'rejected'])
      .optional()
      .describe('completed (default), failed or rejected.'),
    result: z.unknown().optional().describe('The result artifact of a completed task: any JSON value.'),
    reason: z.string().min(1).max(2000).optional().describe('Why it failed or was rejected.'),
    decision: z.enum(APPROVAL_DECISIONS).optional().describe('Approvals only: approve or reject.'),
    comment: z
      .string()
      .max(2000)
      .optional()
      .describe('Approvals only: the comment that goes with the decision.'),
  },
  readOnly: false,
  async run(args, { gateway }) {
    const path = `/v1/tasks/${encodeURIComponent(args.taskId)}`;
    if (args.decision) {
      if (args.outcome && args.outcome !== 'completed') {
        throw new GatewayError(
          'validation_failed',
          'a decision completes the approval: leave outcome out (or completed)',
          400,
          {
            issues: [{ path: 'outcome', message: 'not allowed with decision' }],
          },
        );
      }
      return gateway.request('POST', `${path}/decision`, {
        body: { decision: args.decision, comment: args.comment },
        idempotencyKey: `decide-${args.taskId}`,
      });
    }
    const outcome = args.outcome ?? 'completed';
    return gateway.request('POST', `${path}/updates`, {
      body: {
        state: outcome,
        result: outcome === 'completed' ? args.result : undefined,
        reason: args.reason,
      },
      idempotencyKey: `${outcome}-${args.taskId}`,
    });
  },
});

export const listAgents = defineTool({
  name: MESH_TOOL.listAgents,
  title: 'List agents',
  description:
    'The agents of the organisation, one line each: id, role, name, what it does, whether it is online. ' +
    'Use it to find whom to ask; get_agent gives one agent in full, detail: true the whole page.',
  inputSchema: {
    role: z.string().min(1).max(100).optional().describe('Only agents of this role.'),
    online: z.boolean().optional().describe('Only agents that are (or are not) online.'),
    limit: z.number().int().min(1).max(500).optional().describe('Page size (default 100).'),
    cursor: z.string().min(1).max(2000).optional().describe('The nextCursor of the previous page.'),
    detail,
  },
  readOnly: true,
  async run(args, { gateway }) {
    const page = await gateway.request<{ items: AgentListItem[]; nextCursor: string | null }>(
      'GET',
      '/v1/agents',
      { query: { role: args.role, online: args.online, limit: args.limit, cursor: args.cursor } },
    );
    return args.detail ? page : summarisePage(page, agentSummary);
  },
});

export const getAgent = defineTool({
  name: MESH_TOOL.getAgent,
  title: 'Get an agent',
  description:
    'One agent in full: its description, responsibilities, delegates, tools, effective profile (mesh permissions) and presence.',
  inputSchema: {
    agentId: z.string().min(1).max(200).describe('The agent id, e.g. "contracts-agent" (from list_agents).'),
  },
  readOnly: true,
  run: (args, { gateway }) => gateway.request('GET', `/v1/agents/${encodeURIComponent(args.agentId)}`),
});

/** Every tool, in the order the registry's renderers list them (services/registry/src/render/agent-capabilities.ts). */
export const MESH_TOOLS: readonly MeshTool[] = [
  completeTask,
  fetchStatus,
  getAgent,
  listAgents,
  listTasks,
  notify,
  requestApproval,
  sendTask,
];
