import { afterEach, describe, expect, it } from '@jest/globals';
import { MESH_EVENT_SUBJECTS, MESH_INBOX_STREAM, MESH_INBOX_SUBJECTS } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { expectEventually, startSecuredNats, type SecuredNats } from '@orgmesh/testing';
import { MeshAgent, StaticAccessTokenSource } from '../src/index.js';
import { unsignedJwt } from './mesh-double.js';

// An agent on a secured bus (ADR 0011) that comes up before the mesh router: the streams it reads
// are the router's to create, and its own attempt is refused. Its start failed with that refusal
// (an orchestrator restarts it in a loop, with a growing backoff, until the router is up).

const AGENT = { agentId: 'legal-agent', agentRole: 'legal' };
let nats: SecuredNats | undefined;
const closers: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await nats?.dispose();
  nats = undefined;
});

async function setUp(): Promise<{ agent: MeshAgent; logs: string[]; router: () => Promise<MessageBus> }> {
  const token = `tsdk${Math.random().toString(36).slice(2, 8)}`;
  const namespace = { subjectPrefix: `${token}.`, nameSuffix: `_${token.toUpperCase()}` };
  const server = await startSecuredNats({ ...namespace, agents: [AGENT] });
  nats = server;
  const logs: string[] = [];
  const agent = await MeshAgent.connect({
    natsUrl: server.url,
    nkeySeedFile: server.seedFile(`agent-${AGENT.agentId}`),
    ...namespace,
    credentials: { tokens: new StaticAccessTokenSource(unsignedJwt(AGENT.agentId, AGENT.agentRole)) },
    agentId: AGENT.agentId,
    heartbeatIntervalMs: 0,
    logger: createLogger({
      service: 'agent-sdk-secured',
      level: 'info',
      destination: { write: (line: string) => void logs.push(line) },
    }),
  });
  closers.push(() => agent.stop());
  const router = async () => {
    const bus = await connectBus({
      ...server.busOptions('mesh-router'),
      logger: createLogger({ service: 'mesh-router', level: 'silent' }),
    });
    closers.push(() => bus.close());
    return bus;
  };
  return { agent, logs, router };
}

const logged = (logs: string[], msg: string) => logs.some((line) => line.includes(`"msg":"${msg}"`));

describe('MeshAgent on a secured bus, started before the mesh router', () => {
  it('waits for the router’s streams instead of failing, then consumes both inboxes', async () => {
    const { agent, logs, router } = await setUp();
    let started = false;
    const starting = agent.start().then(() => {
      started = true;
    });
    await expectEventually(() =>
      expect(logged(logs, 'agent waits for the mesh router to create its streams')).toBe(true),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(started).toBe(false);

    // The router starts and provisions them, as it does at its start; the agent needs all three.
    const bus = await router();
    await bus.ensureStream('mesh', { subjects: [...MESH_EVENT_SUBJECTS] });
    await bus.ensureWorkQueue(MESH_INBOX_STREAM, [...MESH_INBOX_SUBJECTS]);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(started).toBe(false);
    await bus.ensureDeadLetterStream();
    await starting;
    expect(agent.consuming).toBe(true);
    expect(logged(logs, 'agent consuming its inboxes')).toBe(true);
    // Its two durables (the role's inbox and its own) are on the router's work queue.
    const inbox = await bus.jsm.streams.info(bus.streamName(MESH_INBOX_STREAM));
    expect(inbox.state.consumer_count).toBe(2);
    // It only looked: no refused stream create, which both ends log as an error (the bus's 'nats error').
    expect(logs.filter((line) => line.includes('"level":"error"'))).toEqual([]);
  }, 30_000);

  it('stops while it waits: start rejects as unavailable and nothing was created', async () => {
    const { agent, logs, router } = await setUp();
    const starting = agent.start();
    await expectEventually(() =>
      expect(logged(logs, 'agent waits for the mesh router to create its streams')).toBe(true),
    );
    await agent.stop();
    await expect(starting).rejects.toMatchObject({ code: 'unavailable' });
    const bus = await router();
    expect(await bus.streamFor(MESH_INBOX_SUBJECTS[0])).toBeUndefined();
  }, 30_000);
});
