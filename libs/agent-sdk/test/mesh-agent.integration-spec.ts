import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { AppError, Decide, GetTask, SendTask, UpdateTask, type Task } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
import { MeshAgent, StaticAccessTokenSource, type MeshAgentOptions, type TaskContext } from '../src/index.js';
import { EXPECTED_HASH, MeshDouble, unsignedJwt } from './mesh-double.js';

const logger = createLogger({ service: 'agent-sdk-test', level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const manager = { agentId: 'manager-agent', role: 'manager' };

describe('MeshAgent against NATS (mesh router and registry played by a wire-level double)', () => {
  let ctx: TestContext;
  let serviceBus: MessageBus;
  let mesh: MeshDouble;
  const agents: MeshAgent[] = [];

  beforeAll(async () => {
    ctx = await createTestContext();
    serviceBus = await connectBus({
      url: ctx.natsUrl,
      name: 'mesh-double',
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logger,
    });
    mesh = await new MeshDouble(serviceBus).start();
  });

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
  });

  afterAll(async () => {
    mesh.stop();
    await serviceBus.close();
    await ctx.dispose();
  });

  async function startAgent(
    agentId: string,
    role: string,
    setup: (agent: MeshAgent) => void,
    extra: Partial<MeshAgentOptions> = {},
  ): Promise<MeshAgent> {
    const agent = await MeshAgent.connect({
      natsUrl: ctx.natsUrl,
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      credentials: { tokens: new StaticAccessTokenSource(unsignedJwt(agentId, role)) },
      agentId,
      heartbeatIntervalMs: 0,
      backoffMs: [50, 100],
      logger,
      ...extra,
    });
    setup(agent);
    await agent.start();
    agents.push(agent);
    return agent;
  }

  it('takes a task from its role inbox: working, the handler, completed with its result; calls carry its token, the task trace and workflow', async () => {
    let seen: TaskContext | undefined;
    await startAgent('legal-agent', 'legal', (agent) =>
      agent.onTask(async (task, taskCtx) => {
        if (task.type !== 'sox-review') return { acknowledged: true };
        seen = taskCtx;
        await taskCtx.sendTask('legal', 'second-opinion', { about: task.id });
        return { recommendation: 'approve' };
      }),
    );
    const task = await mesh.deliverNew(
      'task',
      manager,
      { to: 'legal', type: 'sox-review', input: { amount: 1 }, contextId: 'ctx-sox' },
      { traceparent: TRACEPARENT },
    );
    await expectEventually(() => expect(mesh.get(task.id).state).toBe('completed'));
    expect(mesh.get(task.id).result).toEqual({ recommendation: 'approve' });
    const updates = mesh.callsTo(UpdateTask.subject).filter((c) => c.payload['id'] === task.id);
    expect(updates.map((c) => c.payload['state'])).toEqual(['working', 'completed']);
    expect(updates.map((c) => c.headers['idempotency-key'])).toEqual([
      `${task.id}:working`,
      `${task.id}:completed`,
    ]);
    expect(
      updates.every((c) => c.agentId === 'legal-agent' && c.headers['traceparent'] === TRACEPARENT),
    ).toBe(true);
    const [created] = mesh.callsTo(SendTask.subject);
    expect(created?.payload).toMatchObject({ to: 'legal', type: 'second-opinion', contextId: 'ctx-sox' });
    expect(created?.headers['idempotency-key']).toMatch(new RegExp(`^${task.id}:`));
    expect(created?.headers['traceparent']).toBe(TRACEPARENT);
    expect(seen?.redelivered).toBe(false);
    await expectEventually(() => expect(seen?.ended).toBe(true));
  });

  it('dedupes redelivered tasks by id: a duplicate while in flight and a delivery after it ended reach no handler', async () => {
    const handled: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await startAgent('finance-agent', 'finance', (agent) =>
      agent.onTask(async (task) => {
        handled.push(task.id);
        await gate;
        return { ok: true };
      }),
    );
    const task = await mesh.deliverNew('task', manager, { to: 'finance', type: 'budget' });
    await expectEventually(() => expect(handled).toEqual([task.id]));
    await mesh.redeliver(task.id); // arrives while the first is in flight
    release();
    await expectEventually(() => expect(mesh.get(task.id).state).toBe('completed'));
    await mesh.redeliver(task.id); // arrives after it ended
    // Every copy was acknowledged (nothing pending for the role's inbox), none handled twice.
    await expectEventually(async () => {
      const info = await serviceBus.jsm.consumers.info(
        serviceBus.streamName('mesh-inbox'),
        serviceBus.durableName('inbox-finance'),
      );
      expect(info.num_pending + info.num_ack_pending).toBe(0);
      expect(info.delivered.stream_seq).toBeGreaterThanOrEqual(3);
    });
    expect(handled).toEqual([task.id]);
    expect(
      mesh
        .callsTo(UpdateTask.subject)
        .filter((c) => c.payload['id'] === task.id && c.payload['state'] === 'completed'),
    ).toHaveLength(1);
  });

  it('takes input its sender added as the next turn: a handler asks (input-required, nothing completed) and returns; a next turn waits for the one in flight; the same turn again is dropped', async () => {
    const turns: string[] = [];
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await startAgent('audit-agent', 'audit', (agent) =>
      agent.onTask(async (task, taskCtx) => {
        const input = task.input as { answers: string[] };
        turns.push(input.answers.join('+'));
        events.push(`start ${input.answers.length}`);
        if (input.answers.length === 0) {
          await taskCtx.requestInput('which quarter?');
          expect(taskCtx.awaitingInput).toBe(true);
          await gate; // still in flight when the answer comes
          events.push('end 0');
          return { ignored: true };
        }
        if (input.answers.length === 1) {
          await taskCtx.requestInput('which year?');
          return undefined;
        }
        return { audited: input.answers.join(' ') };
      }),
    );
    const first = await mesh.deliverNew('task', manager, {
      to: 'audit',
      type: 'audit',
      input: { answers: [] },
    });
    await expectEventually(() => expect(mesh.get(first.id).state).toBe('input-required'));
    const second = await mesh.addInput(first.id, { answers: ['Q3'] });
    // The answer waits for the turn in flight, then runs as the next turn.
    await new Promise((r) => setTimeout(r, 300));
    expect(turns).toEqual(['']);
    release();
    await expectEventually(() => expect(mesh.get(first.id).state).toBe('input-required'));
    expect(mesh.get(first.id).reason).toBe('which year?');
    expect(events).toEqual(['start 0', 'end 0', 'start 1']);
    // Both turns delivered again while the task waits: neither runs again.
    await mesh.resend(first);
    await mesh.resend(second);
    await expectEventually(async () => {
      for (const durable of ['inbox-audit', 'inbox-agent-audit-agent']) {
        const info = await serviceBus.jsm.consumers.info(
          serviceBus.streamName('mesh-inbox'),
          serviceBus.durableName(durable),
        );
        expect(info.num_pending + info.num_ack_pending).toBe(0);
      }
    });
    expect(turns).toEqual(['', 'Q3']);
    await mesh.addInput(first.id, { answers: ['Q3', '2026'] });
    await expectEventually(() => expect(mesh.get(first.id).state).toBe('completed'));
    expect(mesh.get(first.id).result).toEqual({ audited: 'Q3 2026' });
    expect(turns).toEqual(['', 'Q3', 'Q3+2026']);
    // Nothing completed the task before its last turn; each turn's question has its own key.
    const updates = mesh.callsTo(UpdateTask.subject).filter((c) => c.payload['id'] === first.id);
    expect(updates.map((c) => [c.payload['state'], c.headers['idempotency-key']])).toEqual([
      ['working', `${first.id}:working`],
      ['input-required', `${first.id}:input-required`],
      ['input-required', `${first.id}@v${second.version}:input-required`],
      ['completed', `${first.id}:completed`],
    ]);
  });

  it('retries a delivery after a passing failure and fails the task on a lasting one', async () => {
    let attempts = 0;
    await startAgent('hr-agent', 'hr', (agent) =>
      agent.onTask(async (task) => {
        attempts++;
        if (task.type === 'flaky' && attempts === 1)
          throw new AppError('unavailable', 'model endpoint unreachable');
        if (task.type === 'broken') throw new AppError('validation_failed', 'cannot read the input');
        return { attempts };
      }),
    );
    const flaky = await mesh.deliverNew('task', manager, { to: 'hr', type: 'flaky' });
    await expectEventually(() => expect(mesh.get(flaky.id).state).toBe('completed'));
    expect(mesh.get(flaky.id).result).toEqual({ attempts: 2 });
    const broken = await mesh.deliverNew('task', manager, { to: 'hr', type: 'broken' });
    await expectEventually(() => expect(mesh.get(broken.id).state).toBe('failed'));
    expect(mesh.get(broken.id).reason).toBe('validation_failed: cannot read the input');
  });

  it('decides approvals from the handler result and acknowledges notifications on receipt', async () => {
    const notes: string[] = [];
    await startAgent('manager-agent', 'manager', (agent) => {
      agent.onApproval(async (task) => ({
        decision: 'approve',
        comment: `ok ${String((task.details as { amount: number }).amount)}`,
      }));
      agent.onNotification(async (task) => {
        // Already acknowledged when the handler runs.
        notes.push(`${task.message} ${mesh.get(task.id).state}`);
      });
    });
    const approval = await mesh.deliverNew(
      'approval',
      { agentId: 'finance-agent', role: 'finance' },
      { to: 'manager', subject: 'budget', details: { amount: 5 } },
    );
    const note = await mesh.deliverNew(
      'notification',
      { agentId: 'finance-agent', role: 'finance' },
      { to: 'manager', message: 'fyi' },
    );
    await expectEventually(() => expect(mesh.get(approval.id).decision?.decision).toBe('approve'));
    expect(mesh.get(approval.id).decision?.comment).toBe('ok 5');
    expect(
      mesh.callsTo(Decide.subject).find((c) => c.payload['id'] === approval.id)?.headers['idempotency-key'],
    ).toBe(`${approval.id}:decide`);
    await expectEventually(() => expect(notes).toEqual(['fyi completed']));
    expect(
      mesh
        .callsTo(UpdateTask.subject)
        .filter((c) => c.payload['id'] === note.id)
        .map((c) => c.payload['state']),
    ).toEqual(['completed']);
  });

  it('waits for a task it sent to end, woken by the change on its own updates subject', async () => {
    const asker = await startAgent('ops-agent', 'ops', () => undefined);
    const heard: string[] = [];
    const unlisten = asker.onTaskUpdate((change) => heard.push(`${change.task.id}:${change.task.state}`));
    const sent: Task = await asker.sendTask('finance-two', 'review', { n: 1 }, { contextId: 'ctx-wait' });
    expect(sent.from).toEqual({ agentId: 'ops-agent', role: 'ops' });
    const waiting = asker.waitForTask(sent.id, { timeoutMs: 20_000 });
    const started = Date.now();
    await expectEventually(() =>
      expect(mesh.callsTo(GetTask.subject).some((c) => c.payload['id'] === sent.id)).toBe(true),
    );
    await serviceBus.request(
      UpdateTask,
      { id: sent.id, state: 'completed', result: { done: 1 } },
      { authorization: `Bearer ${unsignedJwt('finance-two-agent', 'finance-two')}` },
    );
    const ended = await waiting;
    expect(ended.state).toBe('completed');
    // Woken by the event, not by the 2 s safety poll.
    expect(Date.now() - started).toBeLessThan(1_900);
    await expectEventually(() => expect(heard).toEqual([`${sent.id}:completed`]));
    unlisten();
    // Unfinished after the timeout: returned as it is.
    const open = await asker.sendTask('finance-two', 'review', { n: 2 });
    expect((await asker.waitForTask(open.id, { timeoutMs: 100 })).state).toBe('submitted');
  });

  it('heartbeats to the registry with its config hash and token, and learns about drift', async () => {
    const agent = await startAgent('sales-agent', 'sales', () => undefined, {
      configHash: async () => `sha256:${'b'.repeat(64)}`,
      heartbeatIntervalMs: 200,
    });
    await expectEventually(() =>
      expect(mesh.heartbeats.filter((h) => h.agentId === 'sales-agent').length).toBeGreaterThanOrEqual(2),
    );
    const beat = mesh.heartbeats.find((h) => h.agentId === 'sales-agent')!;
    expect(beat.payload).toEqual({ agentId: 'sales-agent', configHash: `sha256:${'b'.repeat(64)}` });
    expect(beat.headers['authorization']).toMatch(/^Bearer /);
    expect(agent.status().drift).toBe(true);
    expect((await agent.heartbeat())?.drift).toBe(true);
    const inSync = await startAgent('sales-two', 'sales-two', () => undefined, {
      configHash: EXPECTED_HASH,
      heartbeatIntervalMs: 60_000,
    });
    await expectEventually(() => expect(inSync.status().lastHeartbeatAt).not.toBeNull());
    expect(inSync.status().drift).toBe(false);
  });

  it('stops gracefully: the task in flight finishes and is reported, later deliveries wait in the inbox for the next instance', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const started: string[] = [];
    const first = await startAgent(
      'legal-two',
      'legal-two',
      (agent) =>
        agent.onTask(async (task) => {
          started.push(task.id);
          await gate;
          return { by: 'first' };
        }),
      { ackWaitMs: 2_000 },
    );
    const inFlight = await mesh.deliverNew('task', manager, { to: 'legal-two', type: 'x' });
    await expectEventually(() => expect(started).toEqual([inFlight.id]));
    const stopping = first.stop();
    await expectEventually(() => expect(first.status().stopping).toBe(true));
    const later = await mesh.deliverNew('task', manager, { to: 'legal-two', type: 'y' });
    release();
    await stopping;
    expect(mesh.get(inFlight.id)).toMatchObject({ state: 'completed', result: { by: 'first' } });
    expect(mesh.get(later.id).state).toBe('submitted');
    // The next instance of the role takes what waited.
    // A delivery the stopping consumer had already pulled comes back after the ack wait.
    await startAgent('legal-two', 'legal-two', (agent) => agent.onTask(async () => ({ by: 'second' })), {
      ackWaitMs: 2_000,
    });
    await expectEventually(() =>
      expect(mesh.get(later.id)).toMatchObject({ state: 'completed', result: { by: 'second' } }),
    );
  });
});
