import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TaskState, type Message, type StreamResponse } from '@a2a-js/sdk';
import { TaskNotFoundError, UnsupportedOperationError } from '@a2a-js/sdk/errors';
import type { Task } from '@orgmesh/contracts';
import { createTestContext, startTestAgent, type TestContext } from '@orgmesh/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { api, devToken, startGatewayStack, type GatewayStack } from './gateway-harness.js';
import { a2aClient, asTask, sendRequest, userMessage } from './a2a-harness.js';

/** A message of the task's sender continuing it (A2A multi-turn: the message names its task). */
function continuing(text: string, task: { id: string; contextId: string }): Message {
  return { ...userMessage(text, { contextId: task.contextId }), taskId: task.id };
}

describe('A2A: a message continuing a task (message.taskId) is delivered to the task (mesh AddTaskInput)', () => {
  let ctx: TestContext;
  let stack: GatewayStack;
  let gateway: GatewayApp;
  const tokens: Record<string, string> = {};
  const as = (client: string) => tokens[client] as string;

  const update = async (id: string, body: Record<string, unknown>) => {
    const res = await api<Task>(gateway, 'POST', `/v1/tasks/${id}/updates`, {
      token: as('legal-agent'),
      body,
    });
    expect(res.status).toBe(200);
    return res.body;
  };
  const meshTask = async (id: string) =>
    (await api<Task>(gateway, 'GET', `/v1/tasks/${id}`, { token: as('legal-agent') })).body;

  beforeAll(async () => {
    ctx = await createTestContext();
    stack = await startGatewayStack(ctx, { sessions: false });
    gateway = stack.gateway;
    for (const client of ['manager-agent', 'legal-agent', 'finance-agent'])
      tokens[client] = await devToken(gateway, client);
  });

  afterAll(async () => {
    await stack?.close();
    await ctx?.dispose();
  });

  it('answers a task that asked for input: the message becomes its input, it is working again, the history keeps both turns', async () => {
    const client = await a2aClient(gateway, as('manager-agent'), '/a2a/legal-agent');
    const task = asTask(await client.sendMessage(sendRequest(userMessage('Review the merger'))));
    await update(task.id, { state: 'working' });
    await update(task.id, { state: 'input-required', reason: 'which quarter?' });
    expect((await client.getTask({ tenant: '', id: task.id })).status?.state).toBe(
      TaskState.TASK_STATE_INPUT_REQUIRED,
    );

    const answered = asTask(
      await client.sendMessage(sendRequest(continuing('Q3, the board minutes attached', task))),
    );
    expect(answered.id).toBe(task.id);
    expect(answered.status?.state).toBe(TaskState.TASK_STATE_WORKING);
    const texts = answered.history.map((m) =>
      m.parts[0]?.content?.$case === 'text' ? m.parts[0].content.value : '',
    );
    expect(texts).toEqual(['Review the merger', 'Q3, the board minutes attached']);
    // The mesh's view: the agent reads the new input; the history records the sender's input.
    const mesh = await meshTask(task.id);
    expect(mesh).toMatchObject({ state: 'working', input: { text: 'Q3, the board minutes attached' } });
    const history = (
      await api<Task>(gateway, 'GET', `/v1/tasks/${task.id}`, { token: as('manager-agent') })
    ).body.history?.map((h) => [h.event, h.to]);
    expect(history?.at(-1)).toEqual(['input', 'working']);

    // The same message again (a client's retry) adds nothing.
    const version = mesh.version;
    const retried = continuing('Q3, the board minutes attached', task);
    await client.sendMessage(sendRequest({ ...retried, messageId: answered.history[1]?.messageId ?? '' }));
    expect((await meshTask(task.id)).version).toBe(version);
  });

  it("reaches the agent: the task comes again to its inbox with the sender's answer, and a blocking send waits for the end", async () => {
    // A mesh agent on its inbox: asks which quarter, and answers once the task brings one.
    const legal = await startTestAgent({
      natsUrl: ctx.natsUrl,
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      role: 'legal',
      agentId: 'legal-agent',
      token: as('legal-agent'),
      behaviour: {
        kind: 'custom',
        handle: async (task, agent) => {
          const text = (task.input as { text?: string } | null)?.text;
          if (text === 'Audit the quarter') {
            await agent.update(task.id, 'working');
            await agent.update(task.id, 'input-required', { reason: 'which quarter?' });
          } else if (text === 'Q2' && task.state === 'working') {
            await agent.update(task.id, 'completed', { result: { audited: 'Q2' } });
          }
        },
      },
    });
    try {
      const client = await a2aClient(gateway, as('manager-agent'), '/a2a/legal-agent');
      // Blocking sends answer at an interrupted state: the agent's question.
      const asked = asTask(await client.sendMessage(sendRequest(userMessage('Audit the quarter'), false)));
      expect(asked.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
      const done = asTask(await client.sendMessage(sendRequest(continuing('Q2', asked), false)));
      expect(done.id).toBe(asked.id);
      expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      expect(done.artifacts[0]?.parts[0]?.content).toMatchObject({ $case: 'data' });
      // Delivered twice to the agent: the request, then the task with the answer.
      const deliveries = legal.received
        .filter((t) => t.id === asked.id)
        .map((t) => (t.input as { text?: string }).text);
      expect(deliveries).toEqual(['Audit the quarter', 'Q2']);
    } finally {
      await legal.stop();
    }
  });

  it('streams a continued task in flight until it ends, and refuses a message to a finished task (UnsupportedOperation)', async () => {
    const client = await a2aClient(gateway, as('manager-agent'), '/a2a/legal-agent');
    const task = asTask(await client.sendMessage(sendRequest(userMessage('Check clause 7'))));
    await update(task.id, { state: 'working' });
    const events: StreamResponse[] = [];
    const streamed = (async () => {
      for await (const event of client.sendMessageStream(sendRequest(continuing('and clause 9', task)))) {
        events.push(event);
      }
    })();
    // The stream's first event is the task with the added input; the agent then finishes it.
    for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const head = events[0]?.payload;
    expect(head?.$case === 'task' && head.value.id).toBe(task.id);
    expect((await meshTask(task.id)).input).toMatchObject({ text: 'and clause 9' });
    await update(task.id, { state: 'completed', result: { opinion: 'both fine' } });
    await streamed;
    const last = events.at(-1)?.payload;
    expect(last?.$case === 'statusUpdate' && last.value.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);

    await expect(client.sendMessage(sendRequest(continuing('one more thing', task)))).rejects.toBeInstanceOf(
      UnsupportedOperationError,
    );
    expect((await meshTask(task.id)).input).toMatchObject({ text: 'and clause 9' });
  });

  it('is TaskNotFound for a task the caller did not send, whether it may see it or not, and changes nothing', async () => {
    const manager = await a2aClient(gateway, as('manager-agent'), '/a2a/legal-agent');
    const task = asTask(await manager.sendMessage(sendRequest(userMessage('Confidential review'))));
    await update(task.id, { state: 'working' });
    // Finance is no party to the task; legal sees it (it works on it) but did not send it.
    for (const other of ['finance-agent', 'legal-agent']) {
      const client = await a2aClient(gateway, as(other), '/a2a/legal-agent');
      await expect(client.sendMessage(sendRequest(continuing('let me in', task)))).rejects.toBeInstanceOf(
        TaskNotFoundError,
      );
    }
    const mesh = await meshTask(task.id);
    expect(mesh).toMatchObject({ state: 'working', input: { text: 'Confidential review' } });
  });
});
