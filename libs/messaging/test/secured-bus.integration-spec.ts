import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from '@nats-io/transport-node';
import { nkeyAuthenticator, nkeys } from '@nats-io/nats-core';
import {
  AppError,
  CreateSession,
  GetDirectory,
  InboxDelivery,
  MESH_INBOX_STREAM,
  MESH_INBOX_SUBJECTS,
  SessionCreated,
  TaskUpdated,
  agentUpdatesSubject,
  roleInboxDurable,
  roleInboxSubject,
  type Task,
} from '@orgmesh/contracts';
import { expectEventually, startSecuredNats, taskFixture, type SecuredNats } from '@orgmesh/testing';
import { BusPermissionError, connectBus, type MessageBus } from '../src/index.js';
import { testLogger, violations } from './helpers.js';

// The attack suite of issue 18: a private nats-server secured by `orgmesh nats-config`'s generator.
const token = `tsec${Math.random().toString(36).slice(2, 8)}`;
const prefix = `${token}.`;
const suffix = `_${token.toUpperCase()}`;
const AGENT = { agentId: 'fin-1', agentRole: 'finance' };

let nats: SecuredNats;
const buses: MessageBus[] = [];

async function busAs(identity: string): Promise<MessageBus> {
  const bus = await connectBus({
    ...nats.busOptions(identity),
    logger: testLogger(identity),
    requestTimeoutMs: 4_000,
  });
  buses.push(bus);
  return bus;
}

beforeAll(async () => {
  nats = await startSecuredNats({ subjectPrefix: prefix, nameSuffix: suffix, agents: [AGENT] });
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(buses.map((b) => b.close()));
  await nats?.dispose();
});

describe('secured bus: authentication', () => {
  it('refuses an anonymous connection', async () => {
    await expect(connect({ servers: nats.url, reconnect: false, timeout: 5_000 })).rejects.toThrow(
      /authorization/i,
    );
  });

  it('refuses a well-formed NKey the server does not know', async () => {
    const stranger = nkeys.createUser().getSeed();
    await expect(
      connect({ servers: nats.url, reconnect: false, timeout: 5_000, authenticator: nkeyAuthenticator(stranger) }),
    ).rejects.toThrow(/authorization/i);
  });
});

describe('secured bus: a compromised agent', () => {
  let agent: MessageBus;
  let sessions: MessageBus;
  let registry: MessageBus;
  let sessionCalls = 0;

  beforeAll(async () => {
    [agent, sessions, registry] = await Promise.all([
      busAs('agent-fin-1'),
      busAs('sessions'),
      busAs('registry'),
    ]);
    sessions.serve(CreateSession, async () => {
      sessionCalls++;
      throw new AppError('internal', 'must never be reached by an agent');
    });
    registry.serve(GetDirectory, async () => ({
      people: [{ userId: 'u1', name: 'Ada Lovelace', email: 'ada@example.com', department: 'r&d' }],
      orgVersion: 1,
      version: 1,
    }));
    await Promise.all([sessions.nc.flush(), registry.nc.flush()]);
  }, 30_000);

  it('cannot call the sessions service: a typed error naming the subject, at once, not a timeout', async () => {
    const started = Date.now();
    const error = await agent.request(CreateSession, { agentId: 'a', role: 'finance' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BusPermissionError);
    expect(error).toMatchObject({ code: 'forbidden', subject: `${prefix}rpc.sessions.v1.create`, operation: 'publish' });
    expect((error as Error).message).toContain(`${prefix}rpc.sessions.v1.create`);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(sessionCalls).toBe(0);
  });

  it('cannot read the org directory, which the privacy proxy can', async () => {
    await expect(agent.request(GetDirectory, {})).rejects.toMatchObject({
      code: 'forbidden',
      subject: `${prefix}rpc.registry.v1.directory`,
    });
    const proxy = await busAs('privacy-proxy');
    const directory = await proxy.request(GetDirectory, {});
    expect(directory.people).toHaveLength(1);
    const gateway = await busAs('gateway');
    await expect(gateway.request(GetDirectory, {})).rejects.toBeInstanceOf(BusPermissionError);
  });

  it('cannot forge a session event: the JetStream publish fails with the typed error', async () => {
    await sessions.ensureStream('sessions');
    await expect(
      agent.publish(SessionCreated, {} as never, { eventId: 'forged' }).catch((e: unknown) => {
        // The payload is refused before sending if invalid: publish a raw one instead.
        if (e instanceof AppError && e.code === 'validation_failed')
          return agent.publishRaw(SessionCreated.subject, new TextEncoder().encode('{}'), { eventId: 'forged' });
        throw e;
      }),
    ).rejects.toMatchObject({ code: 'forbidden', subject: `${prefix}sessions.v1.created` });
    const info = await sessions.jsm.streams.info(sessions.streamName('sessions'));
    expect(info.state.messages).toBe(0);
  });

  it('cannot subscribe to everything, nor to another identity inbox', async () => {
    const seen = violations(agent.nc);
    let overheard = 0;
    // A refused subscription's callback is called once with the error, never with a message.
    const count = (error: Error | null) => void (error === null && overheard++);
    agent.nc.subscribe('>', { callback: count });
    agent.nc.subscribe('_INBOX.gateway.>', { callback: count });
    agent.nc.subscribe(`${prefix}rpc.sessions.v1.create`, { callback: count });
    await expectEventually(() => {
      expect(seen.map((v) => v.subject).sort()).toEqual(
        ['>', '_INBOX.gateway.>', `${prefix}rpc.sessions.v1.create`].sort(),
      );
      expect(seen.every((v) => v.operation === 'subscription')).toBe(true);
    });
    const gateway = await busAs('gateway');
    await expect(gateway.request(CreateSession, { agentId: 'a', role: 'finance' })).rejects.toMatchObject({
      code: 'internal',
    });
    await agent.nc.flush();
    expect(overheard).toBe(0);
  });

  it('hears the changes of its own tasks only: neither task-updated (every task of the org) nor another agent’s', async () => {
    const router = await busAs('mesh-router');
    const seen = violations(agent.nc);
    const own = `${prefix}${agentUpdatesSubject(AGENT.agentId)}`;
    const others = `${prefix}${agentUpdatesSubject('legal-1')}`;
    const everything = `${prefix}${TaskUpdated.subject}`;
    const heard: string[] = [];
    const hear = (error: Error | null, msg: { subject: string }) => void (error === null && heard.push(msg.subject));
    for (const subject of [everything, others, `${prefix}mesh.v1.updates.*`, `${prefix}mesh.v1.>`, own]) {
      agent.nc.subscribe(subject, { callback: hear });
    }
    // Nor may it forge a change for itself or anyone: only the router publishes there.
    agent.nc.publish(own, '{"forged":true}');
    await expectEventually(() => {
      expect(seen.map((v) => `${v.operation} ${v.subject}`).sort()).toEqual(
        [
          `publish ${own}`,
          `subscription ${everything}`,
          `subscription ${others}`,
          `subscription ${prefix}mesh.v1.updates.*`,
          `subscription ${prefix}mesh.v1.>`,
        ].sort(),
      );
    });
    await agent.nc.flush();
    for (const subject of [everything, others, own]) router.nc.publish(subject, '{}');
    await router.nc.flush();
    await expectEventually(() => expect(heard).toEqual([own]));
    await agent.nc.flush();
    expect(heard).toEqual([own]);
  });

  it('consumes its own role inbox and not another role’s', async () => {
    const router = await busAs('mesh-router');
    await router.ensureWorkQueue(MESH_INBOX_STREAM, [...MESH_INBOX_SUBJECTS]);
    await router.ensureStream('mesh', { subjects: ['mesh.v1.task-created', 'mesh.v1.task-updated'] });
    await router.ensureDeadLetterStream();
    const received: string[] = [];
    await agent.consume(InboxDelivery, roleInboxDurable('finance'), async (task: Task) => void received.push(task.id), {
      subject: roleInboxSubject('finance'),
    });
    await expect(
      agent.consume(InboxDelivery, roleInboxDurable('legal'), async () => undefined, {
        subject: roleInboxSubject('legal'),
      }),
    ).rejects.toBeInstanceOf(BusPermissionError);
    // Its own durable name with another role's filter: the filter is pinned in the create subject.
    await expect(
      agent.consume(InboxDelivery, roleInboxDurable('finance-2'), async () => undefined, {
        subject: roleInboxSubject('finance'),
      }),
    ).rejects.toBeInstanceOf(BusPermissionError);
    await expect(
      agent.publishRaw(roleInboxSubject('finance'), new TextEncoder().encode('{}'), { eventId: 'x' }),
    ).rejects.toBeInstanceOf(BusPermissionError);
    const task = sampleTask();
    await router.publishRaw(roleInboxSubject('finance'), new TextEncoder().encode(JSON.stringify(task)), {
      eventId: `deliver-${task.id}`,
    });
    await expectEventually(() => expect(received).toEqual([task.id]));
  }, 60_000);
});

function sampleTask(): Task {
  return taskFixture({ id: crypto.randomUUID(), to: { role: 'finance', agentId: null } });
}
