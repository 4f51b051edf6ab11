import {
  AppError,
  Decide,
  InboxDelivery,
  MESH_EVENT_SUBJECTS,
  MESH_INBOX_STREAM,
  MESH_INBOX_SUBJECTS,
  UpdateTask,
  agentInboxes,
  type ApprovalDecision,
  type Task,
} from '@orgmesh/contracts';
import { connectBus, type ConsumerHandle, type EventContext, type MessageBus } from '@orgmesh/messaging';
import { createLogger, type Logger } from '@orgmesh/telemetry';

/** What the agent does with each delivered task. */
export type TestAgentBehaviour =
  /** Takes it (working), then completes it with `result`; approvals are approved, notifications acknowledged. */
  | { kind: 'complete'; result?: Task['result']; skipWorking?: boolean }
  /** Takes an approval and decides it. */
  | { kind: 'decide'; decision: ApprovalDecision; comment?: string }
  /** Does the work (working, completed) and then dies before acknowledging the delivery. */
  | { kind: 'crash-before-ack'; result?: Task['result'] }
  /** Never gets to answer: every delivery fails (nak), until the delivery is dead-lettered. */
  | { kind: 'fail-delivery' }
  /** Acknowledges the delivery and does nothing (a task nobody answers). */
  | { kind: 'ignore' }
  | { kind: 'custom'; handle: (task: Task, agent: TestAgent, ctx: EventContext) => Promise<void> };

export interface TestAgentOptions {
  natsUrl: string;
  subjectPrefix?: string;
  nameSuffix?: string;
  role: string;
  agentId: string;
  /** The agent's JWT (its subject and role are what the mesh believes). */
  token: string;
  behaviour: TestAgentBehaviour;
  /** How long the server waits for an ack before redelivering; default 30 s. */
  ackWaitMs?: number;
  /** Deliveries before the delivery is dead-lettered (and the task fails as undeliverable); default 5. */
  maxDeliver?: number;
  backoffMs?: number[];
  /** Tasks handled at once; default 4. */
  concurrency?: number;
  logger?: Logger;
  /** On a secured bus: the agent's seed file; it then connects as the identity `agent-<agentId>`. */
  nkeySeedFile?: string;
}

export interface TestAgent {
  readonly role: string;
  readonly agentId: string;
  readonly bus: MessageBus;
  /** `Bearer <token>`: to call other mesh RPCs as this agent. */
  readonly authorization: string;
  /** Every delivery, in arrival order (a redelivered task appears again). */
  readonly received: Task[];
  /** Sends update-task as this agent; the idempotency key defaults to `<task id>:<state>`. */
  update(
    id: string,
    state: 'working' | 'input-required' | 'completed' | 'failed' | 'rejected',
    extra?: { result?: Task['result']; reason?: string },
  ): Promise<Task>;
  decide(id: string, decision: ApprovalDecision, comment?: string): Promise<Task>;
  /** Dies like a killed process: the connection drops, deliveries in flight are never acknowledged. */
  crash(): Promise<void>;
  /** Stops gracefully: deliveries in flight finish and are acknowledged. */
  stop(): Promise<void>;
}

/**
 * A minimal agent for tests and benchmarks: it consumes its role's inbox and its own agent inbox
 * (the durables every instance of the role shares) and answers through the mesh RPCs, as the
 * SDK's agents do. A delivery of a task that has already ended (a redelivery after a crash, a
 * timeout, a cancellation) is acknowledged and dropped: the mesh answers 409 or the first result.
 */
export async function startTestAgent(options: TestAgentOptions): Promise<TestAgent> {
  const logger =
    options.logger ?? createLogger({ service: `test-agent-${options.agentId}`, level: 'silent' });
  const bus = await connectBus({
    url: options.natsUrl,
    name: `test-agent-${options.agentId}`,
    ...(options.nkeySeedFile ? { nkeySeedFile: options.nkeySeedFile, identity: `agent-${options.agentId}` } : {}),
    subjectPrefix: options.subjectPrefix,
    nameSuffix: options.nameSuffix,
    logger,
  });
  await bus.ensureStream('mesh', { subjects: [...MESH_EVENT_SUBJECTS] });
  await bus.ensureWorkQueue(MESH_INBOX_STREAM, [...MESH_INBOX_SUBJECTS]);
  const authorization = `Bearer ${options.token}`;
  const received: Task[] = [];
  let crashed = false;
  const consumers: ConsumerHandle[] = [];

  const agent: TestAgent = {
    role: options.role,
    agentId: options.agentId,
    bus,
    authorization,
    received,
    update: (id, state, extra = {}) =>
      bus.request(UpdateTask, { id, state, ...extra }, { authorization, idempotencyKey: `${id}:${state}` }),
    decide: (id, decision, comment) =>
      bus.request(Decide, { id, decision, comment }, { authorization, idempotencyKey: `${id}:decide` }),
    async crash() {
      if (crashed) return;
      crashed = true;
      await bus.nc.close();
    },
    async stop() {
      if (crashed) return;
      await Promise.allSettled(consumers.map((c) => c.stop()));
      await bus.close();
    },
  };

  const handle = async (task: Task, ctx: EventContext): Promise<void> => {
    received.push(task);
    try {
      await behave(options.behaviour, task, agent, ctx);
    } catch (error) {
      // Already ended (answered before a crash, timed out, canceled): drop the delivery.
      if (error instanceof AppError && error.code === 'task_illegal_transition') return;
      throw error;
    }
  };
  const consumeOptions = {
    ackWaitMs: options.ackWaitMs,
    maxDeliver: options.maxDeliver ?? 5,
    backoffMs: options.backoffMs ?? [50, 100, 200],
    concurrency: options.concurrency ?? 4,
  };
  for (const inbox of agentInboxes(options)) {
    consumers.push(
      await bus.consume(InboxDelivery, inbox.durable, handle, { ...consumeOptions, subject: inbox.subject }),
    );
  }
  return agent;
}

async function behave(
  behaviour: TestAgentBehaviour,
  task: Task,
  agent: TestAgent,
  ctx: EventContext,
): Promise<void> {
  switch (behaviour.kind) {
    case 'ignore':
      return;
    case 'fail-delivery':
      throw new AppError('unavailable', 'test agent refuses the delivery');
    case 'custom':
      return behaviour.handle(task, agent, ctx);
    case 'decide':
      if (task.kind !== 'approval') return completeTask(task, agent, undefined, false);
      await agent.update(task.id, 'working');
      await agent.decide(task.id, behaviour.decision, behaviour.comment);
      return;
    case 'complete':
      if (task.kind === 'approval') {
        await agent.decide(task.id, 'approve');
        return;
      }
      return completeTask(task, agent, behaviour.result, behaviour.skipWorking ?? false);
    case 'crash-before-ack':
      await completeTask(task, agent, behaviour.result, false);
      if (ctx.deliveryCount === 1) {
        await agent.crash();
        throw new Error('test agent crashed before acknowledging');
      }
      return;
  }
}

async function completeTask(
  task: Task,
  agent: TestAgent,
  result: Task['result'] | undefined,
  skipWorking: boolean,
): Promise<void> {
  // A notification is acknowledged on receipt.
  if (task.kind !== 'notification' && !skipWorking) await agent.update(task.id, 'working');
  await agent.update(task.id, 'completed', { result: result ?? { done: true, by: agent.agentId } });
}
