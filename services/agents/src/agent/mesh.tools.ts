import { z } from 'zod';
import {
  AppError,
  MESH_TOOL,
  RoleId,
  TaskKind,
  TaskPriority,
  TaskState,
  type MeshToolName,
  type Task,
} from '@orgmesh/contracts';
import type { ChatTool, TaskContext } from '@orgmesh/agent-sdk';

/** A tool the model may call: its name, what it is for, its arguments, and what it does on the mesh. */
export interface MeshTool<S extends z.ZodType = z.ZodType> {
  readonly name: MeshToolName;
  readonly description: string;
  readonly schema: S;
  run(args: z.infer<S>, ctx: ToolContext): Promise<unknown>;
}

export interface ToolContext {
  readonly task: TaskContext;
  /** Upper bound of a fetch_status wait. */
  readonly maxWaitMs: number;
}

const Recipient = RoleId.describe('The role to address, e.g. "legal", "manager", "finance"');
const TaskIdArg = z.uuid().describe('A task id');
// Any JSON value (it arrived as JSON). Not z.json(): its recursive $defs schema is more than some
// OpenAI-compatible providers accept for tool parameters.
const Json = z.unknown();

/** What the model sees of a task: enough to act on, nothing it does not need (no history). */
export function taskSummary(task: Task): Record<string, unknown> {
  return {
    task_id: task.id,
    kind: task.kind,
    state: task.state,
    from: task.from.agentId,
    to: task.to.agentId ?? task.to.role,
    ...(task.type ? { type: task.type } : {}),
    ...(task.subject ? { subject: task.subject } : {}),
    ...(task.assignee ? { assignee: task.assignee.agentId } : {}),
    ...(task.result !== null ? { result: task.result } : {}),
    ...(task.decision
      ? {
          decision: task.decision.decision,
          comment: task.decision.comment,
          decided_by: task.decision.decidedBy.agentId,
        }
      : {}),
    ...(task.reason ? { reason: task.reason } : {}),
    context_id: task.contextId,
  };
}

function tool<S extends z.ZodType>(definition: MeshTool<S>): MeshTool<S> {
  return definition;
}

export const SEND_TASK = tool({
  name: MESH_TOOL.sendTask,
  description:
    'Send a task to another role. Returns the created task (its task_id); use fetch_status to follow it.',
  schema: z.object({
    to: Recipient,
    type: z.string().min(1).max(200).describe('What kind of work, kebab-case, e.g. "sox-review"'),
    input: Json.optional().describe('Everything the recipient needs (JSON)'),
  }),
  run: async (args, { task }) => taskSummary(await task.sendTask(args.to, args.type, args.input)),
});

export const REQUEST_APPROVAL = tool({
  name: MESH_TOOL.requestApproval,
  description:
    'Ask a role to approve or reject something. Returns the approval task; use fetch_status with wait_seconds to wait for the decision.',
  schema: z.object({
    to: Recipient,
    subject: z.string().min(1).max(500).describe('One line: what is to be approved'),
    details: Json.optional().describe('What the approver needs to decide (JSON)'),
  }),
  run: async (args, { task }) => taskSummary(await task.requestApproval(args.to, args.subject, args.details)),
});

export const NOTIFY = tool({
  name: MESH_TOOL.notify,
  description: 'Send a notification (fire-and-forget, delivered durably).',
  schema: z.object({
    to: Recipient,
    message: z.string().min(1).max(4000),
    priority: TaskPriority.optional(),
  }),
  run: async (args, { task }) =>
    taskSummary(await task.notify(args.to, args.message, args.priority ? { priority: args.priority } : {})),
});

export const FETCH_STATUS = tool({
  name: MESH_TOOL.fetchStatus,
  description:
    "A task's state and result. With wait_seconds, waits up to that long for the task to end first.",
  schema: z.object({
    task_id: TaskIdArg,
    wait_seconds: z
      .number()
      .min(0)
      .max(3600)
      .optional()
      .describe('Wait for the task to end, at most this long'),
  }),
  run: async (args, { task, maxWaitMs }) => {
    const waitMs = Math.min(maxWaitMs, Math.round((args.wait_seconds ?? 0) * 1000));
    const found =
      waitMs > 0
        ? await task.waitForTask(args.task_id, { timeoutMs: waitMs })
        : await task.fetchStatus(args.task_id, { includeHistory: false });
    return taskSummary(found);
  },
});

export const LIST_TASKS = tool({
  name: MESH_TOOL.listTasks,
  description: 'Your inbox (inbound), outbox (outbound) or both, newest first.',
  schema: z.object({
    direction: z.enum(['inbound', 'outbound', 'any']).optional(),
    state: TaskState.optional(),
    kind: TaskKind.optional(),
    limit: z.number().int().min(1).max(50).optional(),
  }),
  run: async (args, { task }) => {
    const page = await task.listTasks({
      agentId: task.agent.agentId,
      direction: args.direction ?? 'any',
      ...(args.state ? { state: args.state } : {}),
      ...(args.kind ? { kind: args.kind } : {}),
      limit: args.limit ?? 20,
    });
    return { tasks: page.items.map(taskSummary) };
  },
});

export const COMPLETE_TASK = tool({
  name: MESH_TOOL.completeTask,
  description: 'Complete the task you were given (or another one assigned to you) with its result.',
  schema: z.object({
    task_id: TaskIdArg.optional().describe('Default: the task you are working on'),
    result: Json.optional().describe('The result (JSON)'),
  }),
  run: async (args, { task }) =>
    taskSummary(
      await task.updateTask(args.task_id ?? task.task.id, 'completed', { result: args.result ?? null }),
    ),
});

export const FAIL_TASK = tool({
  name: MESH_TOOL.failTask,
  description: 'Report that the task you were given cannot be done, with the reason.',
  schema: z.object({
    task_id: TaskIdArg.optional().describe('Default: the task you are working on'),
    reason: z.string().min(1).max(2000),
  }),
  run: async (args, { task }) =>
    taskSummary(await task.updateTask(args.task_id ?? task.task.id, 'failed', { reason: args.reason })),
});

export const DECIDE = tool({
  name: MESH_TOOL.decide,
  description: 'Approve or reject the approval request you were given, with a one-line comment.',
  schema: z.object({
    task_id: TaskIdArg.optional().describe('Default: the approval you are working on'),
    decision: z.enum(['approve', 'reject']),
    comment: z.string().max(4000).optional(),
  }),
  run: async (args, { task }) =>
    taskSummary(await task.decideTask(args.task_id ?? task.task.id, args.decision, args.comment)),
});

/** The tools of a delivery: approvals end with `decide`, tasks with `complete_task` / `fail_task`. */
export function toolsFor(kind: Task['kind']): MeshTool[] {
  const common: MeshTool[] = [SEND_TASK, REQUEST_APPROVAL, NOTIFY, FETCH_STATUS, LIST_TASKS] as MeshTool[];
  if (kind === 'approval') return [...common, DECIDE as MeshTool, FAIL_TASK as MeshTool];
  return [...common, COMPLETE_TASK as MeshTool, FAIL_TASK as MeshTool];
}

/** The OpenAI `tools` array of these tools (JSON schemas generated from the zod schemas). */
export function chatTools(tools: readonly MeshTool[]): ChatTool[] {
  return tools.map((t) => {
    const { $schema: _ignored, ...parameters } = z.toJSONSchema(t.schema, {
      io: 'input',
      unrepresentable: 'any',
    }) as Record<string, unknown>;
    return {
      type: 'function',
      function: { name: t.name, description: t.description, parameters: portable(parameters) },
    };
  });
}

/** Plain JSON schema every provider takes: a uuid is `format: uuid`, without zod's long pattern. */
function portable(schema: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'pattern' && schema['format'] === 'uuid') continue;
    out[key] =
      typeof value === 'object' && value !== null && !Array.isArray(value)
        ? portable(value as Record<string, unknown>)
        : value;
  }
  return out;
}

/**
 * Runs one tool call. Whatever goes wrong comes back to the model as `{error: {code, message}}`
 * (a refused send names the policy rule), so it can correct itself; the loop goes on.
 */
export async function runTool(
  tools: readonly MeshTool[],
  name: string,
  rawArguments: string,
  ctx: ToolContext,
): Promise<{ ok: boolean; output: unknown }> {
  const found = tools.find((t) => t.name === name);
  if (!found)
    return {
      ok: false,
      output: {
        error: {
          code: 'unknown_tool',
          message: `no tool named ${name}; available: ${tools.map((t) => t.name).join(', ')}`,
        },
      },
    };
  let args: unknown;
  try {
    args = rawArguments.trim() ? JSON.parse(rawArguments) : {};
  } catch {
    return {
      ok: false,
      output: { error: { code: 'validation_failed', message: 'the arguments are not valid JSON' } },
    };
  }
  const parsed = found.schema.safeParse(args);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`,
    );
    return { ok: false, output: { error: { code: 'validation_failed', message: issues.join('; ') } } };
  }
  try {
    return { ok: true, output: await found.run(parsed.data, ctx) };
  } catch (error) {
    if (error instanceof AppError) {
      // Passing failures are the loop's business (the delivery is retried), not the model's.
      if (error.retryable) throw error;
      return { ok: false, output: { error: { code: error.code, message: error.message } } };
    }
    throw error;
  }
}
