import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TaskState, type Message, type Task as A2ATask } from '@a2a-js/sdk';
import type { Subscription } from '@nats-io/nats-core';
import { MeshAgent } from '@orgmesh/agent-sdk';
import {
  MESH_INBOX_STREAM,
  agentInboxDurable,
  agentInboxSubject,
  roleInboxDurable,
  type Task,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { createTestContext, namespaceBus, type TestContext } from '@orgmesh/testing';
import { api, devToken, silentLogger, startGatewayStack, type GatewayStack } from './gateway-harness.js';
import { a2aClient, asTask, sendRequest, userMessage } from './a2a-harness.js';

/** A message of the task's sender continuing it (A2A multi-turn: the message names its task). */
function continuing(text: string, task: { id: string; contextId: string }): Message {
  return { ...userMessage(text, { contextId: task.contextId }), taskId: task.id };
}

/** The input the gateway gives a task (ADR 0018): the latest message's text, the earlier turns kept. */
interface A2AInput {
  text: string;
  a2a?: { earlier?: { parts?: { text?: string }[] }[] };
}

/** One inbox delivery as it went over the wire, to be published again as the same turn. */
interface Delivery {
  rawSubject: string;
  data: Uint8Array;
  task: Task;
}

function statusText(task: A2ATask): string | undefined {
  const part = task.status?.message?.parts[0]?.content;
  return part?.$case === 'text' ? part.value : undefined;
}

/**
 * An agent built on the SDK takes part in an A2A multi-turn task through the real gateway, mesh
 * router and registry: it asks its sender a question and returns (the task stays INPUT_REQUIRED),
 * the official A2A client answers with `taskId`, the agent gets the answer as the task's next turn
 * and completes with both turns. A delivery of a turn published again (at-least-once) is not run twice.
 */
describe('A2A: an SDK agent asks for input and continues on the next turn', () => {
  let ctx: TestContext;
  let stack: GatewayStack;
  let bus: MessageBus;
  let agent: MeshAgent;
  let inboxes: Subscription;
  let managerToken: string;
  const deliveries: Delivery[] = [];
  /** The input text of each call of the agent's handler, in order. */
  const turns: string[] = [];
  let release: () => void = () => undefined;
  let held: Promise<void> = Promise.resolve();

  /** Publishes a delivery again, as JetStream would redeliver it; resolves when its consumer took it. */
  const redeliver = async (delivery: Delivery, stillInFlight: number) => {
    const { seq } = await bus.publishRaw(delivery.rawSubject, delivery.data, { eventId: randomUUID() });
    const durable =
      delivery.rawSubject === agentInboxSubject('legal-agent')
        ? agentInboxDurable('legal-agent')
        : roleInboxDurable('legal');
    for (let i = 0; i < 200; i++) {
      const info = await bus.jsm.consumers.info(bus.streamName(MESH_INBOX_STREAM), bus.durableName(durable));
      if (info.delivered.stream_seq >= seq && info.num_pending === 0 && info.num_ack_pending <= stillInFlight)
        return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the redelivery on ${delivery.rawSubject} was not taken`);
  };
  const deliveryOf = async (id: string, which: (task: Task) => boolean) => {
    for (let i = 0; i < 200; i++) {
      const found = deliveries.find((d) => d.task.id === id && which(d.task));
      if (found) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no delivery of task ${id}`);
  };

  beforeAll(async () => {
    ctx = await createTestContext();
    stack = await startGatewayStack(ctx, { sessions: false });
    managerToken = await devToken(stack.gateway, 'manager-agent');
    bus = await namespaceBus(ctx, 'a2a-sdk-probe');
    // Every inbox delivery as sent (core NATS sees what JetStream stores on these subjects).
    inboxes = bus.nc.subscribe(bus.subject('mesh.v1.inbox.>'), {
      callback: (error, msg) => {
        if (error) return;
        deliveries.push({
          rawSubject: msg.subject.slice(ctx.subjectPrefix.length),
          data: msg.data,
          task: JSON.parse(new TextDecoder().decode(msg.data)) as Task,
        });
      },
    });
    agent = await MeshAgent.connect({
      natsUrl: ctx.natsUrl,
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      credentials: {
        gatewayUrl: stack.gateway.url,
        clientId: 'legal-agent',
        clientSecret: 'legal-agent-dev-secret',
      },
      agentId: 'legal-agent',
      logger: silentLogger,
      backoffMs: [200],
    });
    agent.onTask(async (task, taskCtx) => {
      const input = task.input as unknown as A2AInput;
      turns.push(input.text);
      const earlier = (input.a2a?.earlier ?? []).map((m) => m.parts?.map((p) => p.text ?? '').join(''));
      if (earlier.length === 0) {
        await taskCtx.requestInput('Which quarter?');
        // Returned after asking: the SDK must neither complete nor fail the task.
        return { audited: 'nothing yet' };
      }
      await held;
      return { audited: `${earlier.join(' / ')}: ${input.text}` };
    });
    await agent.start();
  }, 60_000);

  afterAll(async () => {
    release();
    inboxes?.unsubscribe();
    await agent?.stop();
    await bus?.close();
    await stack?.close();
    await ctx?.dispose();
  });

  it('asks, waits INPUT_REQUIRED, gets the answer as the next turn and completes with both; a turn delivered again is not run twice', async () => {
    const client = await a2aClient(stack.gateway, managerToken, '/a2a/legal-agent');

    // Turn 1: a blocking send answers at the agent's question.
    const asked = asTask(await client.sendMessage(sendRequest(userMessage('Audit the quarter'), false)));
    expect(asked.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect(statusText(asked)).toBe('Which quarter?');

    // The first turn delivered again while the task waits: dropped, the question stands.
    const first = await deliveryOf(asked.id, (t) => t.version === 1);
    await redeliver(first, 0);
    expect(turns).toEqual(['Audit the quarter']);
    const waiting = (await api<Task>(stack.gateway, 'GET', `/v1/tasks/${asked.id}`, { token: managerToken }))
      .body;
    expect(waiting).toMatchObject({ state: 'input-required', reason: 'Which quarter?', result: null });

    // Turn 2: the client answers with taskId; the agent gets it as the next turn (held in flight).
    held = new Promise((resolve) => (release = resolve));
    const answering = client.sendMessage(sendRequest(continuing('Q3', asked), false));
    for (let i = 0; i < 200 && turns.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(turns).toEqual(['Audit the quarter', 'Q3']);
    // The second turn delivered again while its handler runs: dropped, not queued behind it.
    const second = await deliveryOf(
      asked.id,
      (t) => t.version > 1 && (t.input as { text?: string }).text === 'Q3',
    );
    await redeliver(second, 1);
    release();

    const done = asTask(await answering);
    expect(done.id).toBe(asked.id);
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(done.artifacts[0]?.parts[0]?.content).toMatchObject({
      $case: 'data',
      value: { audited: 'Audit the quarter: Q3' },
    });

    // Either turn delivered again after the end: nothing runs.
    await redeliver(second, 0);
    await redeliver(first, 0);
    expect(turns).toEqual(['Audit the quarter', 'Q3']);
    const history = (
      await api<Task>(stack.gateway, 'GET', `/v1/tasks/${asked.id}`, { token: managerToken })
    ).body.history?.map((h) => h.event);
    expect(history).toEqual(['create', 'start', 'require-input', 'input', 'complete']);
  }, 60_000);
});
