import { AppError } from '@orgmesh/contracts';
import type { ChatMessage, ChatRequest, ChatResult } from '@orgmesh/agent-sdk';
import type { Logger } from '@orgmesh/telemetry';
import { chatTools, runTool, type MeshTool, type ToolContext } from './mesh.tools.js';

export interface ToolLoopInput {
  chat: (request: ChatRequest) => Promise<ChatResult>;
  system: string;
  user: string;
  tools: readonly MeshTool[];
  toolContext: ToolContext;
  maxSteps: number;
  /** Extra headers for every model call (the task's trace). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
  logger: Logger;
  /** Fields every log line of this loop carries (ids only). */
  logFields?: Record<string, unknown>;
}

export interface ToolLoopOutcome {
  /** The model's last text (its summary), or null. */
  finalText: string | null;
  steps: number;
  toolCalls: Array<{ name: string; ok: boolean }>;
}

/**
 * The agent's reasoning loop over OpenAI-compatible chat completions: the model answers with tool
 * calls, each is run against the mesh and its result appended as a `tool` message, until the model
 * answers with text only (done) or the step budget runs out. The conversation lives only here.
 */
export async function runToolLoop(input: ToolLoopInput): Promise<ToolLoopOutcome> {
  const messages: ChatMessage[] = [
    { role: 'system', content: input.system },
    { role: 'user', content: input.user },
  ];
  const tools = chatTools(input.tools);
  const toolCalls: ToolLoopOutcome['toolCalls'] = [];
  for (let step = 1; step <= input.maxSteps; step++) {
    if (input.signal?.aborted) throw new AppError('unavailable', 'the agent is stopping');
    const answer = await input.chat({
      messages,
      tools,
      toolChoice: 'auto',
      headers: input.headers,
      signal: input.signal,
    });
    const calls = answer.message.tool_calls ?? [];
    messages.push({
      role: 'assistant',
      content: answer.message.content,
      ...(calls.length ? { tool_calls: calls } : {}),
    });
    if (!calls.length) {
      input.logger.debug({ ...input.logFields, step, finishReason: answer.finishReason }, 'model finished');
      return { finalText: answer.message.content, steps: step, toolCalls };
    }
    for (const call of calls) {
      const { ok, output } = await runTool(
        input.tools,
        call.function.name,
        call.function.arguments,
        input.toolContext,
      );
      toolCalls.push({ name: call.function.name, ok });
      input.logger.info({ ...input.logFields, step, tool: call.function.name, ok }, 'tool called');
      messages.push({ role: 'tool', tool_call_id: call.id, content: JSON.stringify(output) });
    }
  }
  throw new AppError('internal', `the model did not finish within ${input.maxSteps} steps`);
}
