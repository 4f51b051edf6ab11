import { describe, expect, it } from '@jest/globals';
import { AppError, type Task } from '@orgmesh/contracts';
import type { ChatRequest, ChatResult, TaskContext } from '@orgmesh/agent-sdk';
import { createLogger } from '@orgmesh/telemetry';
import { chatTools, runTool, toolsFor } from './mesh.tools.js';
import { runToolLoop } from './tool.loop.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const TASK_ID = '11111111-1111-4111-8111-111111111111';
const OTHER_ID = '22222222-2222-4222-8222-222222222222';

function fakeTask(overrides: Partial<Task> = {}): Task {
  return {
    id: TASK_ID,
    kind: 'task',
    from: { agentId: 'manager-agent', role: 'manager' },
    to: { role: 'legal', agentId: null },
    assignee: null,
    type: 'sox-review',
    subject: null,
    input: null,
    details: null,
    message: null,
    priority: 'normal',
    state: 'working',
    reason: null,
    contextId: 'ctx',
    deadline: '2030-01-01T00:00:00.000Z',
    escalateAt: null,
    result: null,
    decision: null,
    escalatedTo: null,
    escalatedAt: null,
    version: 2,
    createdAt: '2029-12-30T00:00:00.000Z',
    updatedAt: '2029-12-30T00:00:00.000Z',
    history: [
      {
        seq: 1,
        event: 'create',
        from: null,
        to: 'submitted',
        actor: 'manager-agent',
        reason: null,
        occurredAt: '2029-12-30T00:00:00.000Z',
      },
    ],
    ...overrides,
  };
}

/** The parts of a TaskContext the tools use, recording what they were asked. */
function fakeContext(behaviour: { sendTask?: () => Promise<Task> } = {}) {
  const calls: Array<[string, ...unknown[]]> = [];
  const ctx = {
    task: fakeTask(),
    agent: { agentId: 'legal-agent' },
    sendTask: async (...args: unknown[]) => (
      calls.push(['sendTask', ...args]),
      behaviour.sendTask ? behaviour.sendTask() : fakeTask({ id: OTHER_ID, state: 'submitted' })
    ),
    waitForTask: async (...args: unknown[]) => (
      calls.push(['waitForTask', ...args]),
      fakeTask({ id: OTHER_ID, state: 'completed', result: { ok: 1 } })
    ),
    fetchStatus: async (...args: unknown[]) => (
      calls.push(['fetchStatus', ...args]),
      fakeTask({ id: OTHER_ID })
    ),
    updateTask: async (...args: unknown[]) => (
      calls.push(['updateTask', ...args]),
      fakeTask({ state: 'completed', result: (args[2] as { result: Task['result'] }).result })
    ),
  };
  return { ctx: ctx as unknown as TaskContext, calls };
}

function scriptedChat(turns: ChatResult['message'][]): {
  chat: (r: ChatRequest) => Promise<ChatResult>;
  requests: ChatRequest[];
} {
  const requests: ChatRequest[] = [];
  return {
    requests,
    chat: async (request) => {
      requests.push(structuredClone(request));
      const message = turns.shift();
      if (!message) throw new Error('no more turns');
      return { message, finishReason: message.tool_calls ? 'tool_calls' : 'stop', model: 'm' };
    },
  };
}

const toolCall = (id: string, name: string, args: unknown) => ({
  id,
  type: 'function' as const,
  function: { name, arguments: JSON.stringify(args) },
});

describe('the agent tool loop', () => {
  it('runs the tools the model calls, feeds their results back, and ends on the model text', async () => {
    const { ctx, calls } = fakeContext();
    const { chat, requests } = scriptedChat([
      {
        role: 'assistant',
        content: null,
        tool_calls: [toolCall('c1', 'send_task', { to: 'legal', type: 'sox-review', input: { a: 1 } })],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [toolCall('c2', 'fetch_status', { task_id: OTHER_ID, wait_seconds: 30 })],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [toolCall('c3', 'complete_task', { result: { recommendation: 'approve' } })],
      },
      { role: 'assistant', content: 'Reviewed.' },
    ]);
    const outcome = await runToolLoop({
      chat,
      system: 'sys',
      user: 'do it',
      tools: toolsFor('task'),
      toolContext: { task: ctx, maxWaitMs: 10_000 },
      maxSteps: 8,
      headers: { traceparent: 't' },
      logger,
    });
    expect(outcome).toEqual({
      finalText: 'Reviewed.',
      steps: 4,
      toolCalls: [
        { name: 'send_task', ok: true },
        { name: 'fetch_status', ok: true },
        { name: 'complete_task', ok: true },
      ],
    });
    expect(calls).toEqual([
      ['sendTask', 'legal', 'sox-review', { a: 1 }],
      // wait_seconds is capped by the agent's maximum wait
      ['waitForTask', OTHER_ID, { timeoutMs: 10_000 }],
      ['updateTask', TASK_ID, 'completed', { result: { recommendation: 'approve' } }],
    ]);
    expect(requests[0]!.headers).toEqual({ traceparent: 't' });
    expect(requests[0]!.tools?.map((t) => t.function.name)).toEqual([
      'send_task',
      'request_approval',
      'notify',
      'fetch_status',
      'list_tasks',
      'complete_task',
      'fail_task',
    ]);
    // The last request holds the whole conversation: each tool result answers its call, without the task history.
    const last = requests[3]!.messages;
    expect(last.map((m) => m.role)).toEqual([
      'system',
      'user',
      'assistant',
      'tool',
      'assistant',
      'tool',
      'assistant',
      'tool',
    ]);
    const review = JSON.parse((last[5] as { content: string }).content) as Record<string, unknown>;
    expect(review).toMatchObject({ task_id: OTHER_ID, state: 'completed', result: { ok: 1 } });
    expect(review).not.toHaveProperty('history');
  });

  it('gives the model its mistakes as tool errors (unknown tool, bad JSON, invalid arguments, refused by the mesh) and goes on', async () => {
    const { ctx } = fakeContext({
      sendTask: () =>
        Promise.reject(new AppError('policy_denied', 'profiles/legal.yaml grants no tasks to finance')),
    });
    const tools = toolsFor('task');
    const toolContext = { task: ctx, maxWaitMs: 1_000 };
    expect(await runTool(tools, 'decide', '{}', toolContext)).toEqual({
      ok: false,
      output: { error: { code: 'unknown_tool', message: expect.stringContaining('no tool named decide') } },
    });
    expect(await runTool(tools, 'send_task', '{"to":', toolContext)).toMatchObject({
      ok: false,
      output: { error: { code: 'validation_failed' } },
    });
    expect(await runTool(tools, 'send_task', '{"to":"Legal Team"}', toolContext)).toMatchObject({
      ok: false,
      output: { error: { code: 'validation_failed', message: expect.stringContaining('type') } },
    });
    expect(await runTool(tools, 'send_task', '{"to":"finance","type":"x"}', toolContext)).toEqual({
      ok: false,
      output: { error: { code: 'policy_denied', message: 'profiles/legal.yaml grants no tasks to finance' } },
    });
  });

  it('lets passing failures through (the delivery is retried) and stops after its step budget', async () => {
    const { ctx } = fakeContext({ sendTask: () => Promise.reject(new AppError('unavailable', 'mesh down')) });
    const send = {
      role: 'assistant' as const,
      content: null,
      tool_calls: [toolCall('c', 'send_task', { to: 'legal', type: 'x' })],
    };
    await expect(
      runToolLoop({
        chat: scriptedChat([send]).chat,
        system: 's',
        user: 'u',
        tools: toolsFor('task'),
        toolContext: { task: ctx, maxWaitMs: 1 },
        maxSteps: 3,
        logger,
      }),
    ).rejects.toMatchObject({ code: 'unavailable' });

    const { ctx: calm } = fakeContext();
    const status = {
      role: 'assistant' as const,
      content: null,
      tool_calls: [toolCall('c', 'fetch_status', { task_id: OTHER_ID })],
    };
    await expect(
      runToolLoop({
        chat: scriptedChat([status, status, status]).chat,
        system: 's',
        user: 'u',
        tools: toolsFor('task'),
        toolContext: { task: calm, maxWaitMs: 1 },
        maxSteps: 2,
        logger,
      }),
    ).rejects.toThrow('did not finish within 2 steps');
  });

  it('offers approvals `decide` instead of `complete_task`, with plain JSON schemas', () => {
    const names = toolsFor('approval').map((t) => t.name);
    expect(names).toContain('decide');
    expect(names).not.toContain('complete_task');
    const [decide] = chatTools(toolsFor('approval').filter((t) => t.name === 'decide'));
    expect(decide!.function.parameters).not.toHaveProperty('$schema');
    expect(decide!.function.parameters).toMatchObject({
      properties: { task_id: { type: 'string', format: 'uuid' } },
    });
    expect(JSON.stringify(chatTools(toolsFor('task')))).not.toMatch(
      /\$ref|\$defs|"pattern":"\^\(\[0-9a-fA-F\]/,
    );
    expect(decide!.function.parameters).toMatchObject({
      type: 'object',
      required: ['decision'],
      properties: { decision: { enum: ['approve', 'reject'] } },
    });
  });
});
