import { PRIVACY_CONTEXT_HEADER, type Task } from '@orgmesh/contracts';
import type { ChatRequest, ChatResult, MeshAgent, TaskContext } from '@orgmesh/agent-sdk';
import type { Logger } from '@orgmesh/telemetry';
import type { AgentConfigSource } from './agent.config-source.js';
import type { AgentMetrics } from './agent.metrics.js';
import { deliveryMessage, systemPrompt } from './agent.prompts.js';
import { toolsFor } from './mesh.tools.js';
import { runToolLoop } from './tool.loop.js';

export interface AgentRuntimeOptions {
  agent: MeshAgent;
  config: AgentConfigSource;
  /** One model call (the SDK's LLM client through the privacy proxy, or a stand-in in tests). */
  chat: (request: ChatRequest & { model: string }) => Promise<ChatResult>;
  maxSteps: number;
  maxWaitMs: number;
  logger: Logger;
  metrics?: AgentMetrics;
}

/**
 * A reference agent: every delivery (task, approval, notification) becomes one conversation with
 * the model, whose tools are the mesh operations. What the model does not finish itself is closed
 * here: a task is completed with the model's summary; an approval without a decision is marked
 * input-required (it waits for a person, or escalates), never decided on the model's behalf.
 */
export function attachAgentRuntime(options: AgentRuntimeOptions): void {
  const { agent, logger } = options;
  const handle = async (task: Task, ctx: TaskContext): Promise<unknown> => {
    const config = options.config.current;
    const fields = { taskId: task.id, kind: task.kind, agentId: agent.agentId };
    const started = process.hrtime.bigint();
    let outcome = 'ok';
    try {
      const result = await runToolLoop({
        chat: (request) => {
          const t0 = process.hrtime.bigint();
          return options
            .chat({ ...request, model: config.model })
            .finally(() => options.metrics?.modelCalls.observe(Number(process.hrtime.bigint() - t0) / 1e9));
        },
        system: systemPrompt({ role: agent.role, agentId: agent.agentId, instructions: config.instructions }),
        user: deliveryMessage(task),
        tools: toolsFor(task.kind),
        toolContext: { task: ctx, maxWaitMs: options.maxWaitMs },
        maxSteps: options.maxSteps,
        // The task's trace, and its workflow: the privacy proxy scopes its placeholders by it.
        headers: { ...ctx.headers(), [PRIVACY_CONTEXT_HEADER]: task.contextId },
        signal: ctx.signal,
        logger,
        logFields: fields,
      });
      for (const call of result.toolCalls)
        options.metrics?.toolCalls.inc({ tool: call.name, ok: String(call.ok) });
      if (ctx.ended || task.kind === 'notification') return undefined;
      if (task.kind === 'approval') {
        await ctx.progress('input-required', 'the agent reached no decision');
        outcome = 'undecided';
        logger.warn(fields, 'approval left undecided by the model');
        return undefined;
      }
      return { summary: result.finalText ?? '' };
    } catch (error) {
      outcome = 'error';
      throw error;
    } finally {
      options.metrics?.deliveries.inc({ kind: task.kind, outcome });
      options.metrics?.handling.observe({ kind: task.kind }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
  agent.onTask(handle);
  agent.onApproval(handle);
  agent.onNotification(async (task, ctx) => {
    await handle(task, ctx);
  });
}
