import { describe, expect, it } from '@jest/globals';
import { PRIVACY_CONTEXT_HEADER, type Task } from '@orgmesh/contracts';
import type { ChatRequest, ChatResult, MeshAgent, TaskContext } from '@orgmesh/agent-sdk';
import { createLogger } from '@orgmesh/telemetry';
import { taskFixture } from '@orgmesh/testing';
import type { AgentConfigSource } from './agent.config-source.js';
import { attachAgentRuntime } from './agent.runtime.js';

type Handler = (task: Task, ctx: TaskContext) => Promise<unknown>;

describe('agent runtime: what every model call carries', () => {
  it("sends the task's workflow (x-orgmesh-context-id) next to its trace, so the privacy proxy scopes placeholders by workflow", async () => {
    // The mesh side is reduced to registering the handlers; the model side records what it is sent.
    const handlers: Handler[] = [];
    const agent = {
      agentId: 'finance-agent',
      role: 'finance',
      onTask: (h: Handler) => handlers.push(h),
      onApproval: (h: Handler) => handlers.push(h),
      onNotification: (h: Handler) => handlers.push(h),
    } as unknown as MeshAgent;
    const sent: ChatRequest[] = [];
    attachAgentRuntime({
      agent,
      config: {
        current: { source: 'built-in', instructions: '', model: 'm', configHash: 'sha256:x' },
      } as AgentConfigSource,
      chat: async (request): Promise<ChatResult> => {
        sent.push(request);
        return { message: { role: 'assistant', content: 'done' }, finishReason: 'stop', model: 'm' };
      },
      maxSteps: 3,
      maxWaitMs: 1_000,
      logger: createLogger({ service: 'agents-test', level: 'silent' }),
    });
    const ctx = {
      headers: () => ({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }),
      ended: false,
      signal: new AbortController().signal,
    } as unknown as TaskContext;
    const task = taskFixture({ kind: 'task', contextId: 'ctx-workflow-42' });
    await handlers[0]!(task, ctx);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.headers).toEqual({
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      [PRIVACY_CONTEXT_HEADER]: 'ctx-workflow-42',
    });
  });
});
