import { afterEach, describe, expect, it } from '@jest/globals';
import { TaskUpdated, type TaskChange } from '@orgmesh/contracts';
import { createLogger } from '@orgmesh/telemetry';
import { expectEventually, startSecuredNats, taskFixture, type SecuredNats } from '@orgmesh/testing';
import { BusPermissionError, connectBus, type ConsumerHandle, type MessageBus } from '../src/index.js';
import { violations } from './helpers.js';

// ConsumeOptions.waitForOwner on a secured bus (ADR 0011): the sessions service reads the mesh
// router's task events. A sessions replica that started before the router had created MESH tried to
// create it, was refused, and stopped at start (found by the chaos run on a secured bus).

let nats: SecuredNats | undefined;
const buses: MessageBus[] = [];
const handles: ConsumerHandle[] = [];

afterEach(async () => {
  await Promise.allSettled(handles.splice(0).map((h) => h.stop()));
  await Promise.allSettled(buses.splice(0).map((b) => b.close()));
  await nats?.dispose();
  nats = undefined;
});

/** A secured server of its own per test: MESH of its namespace does not exist yet. */
async function securedBus(): Promise<{ busAs: (identity: string) => Promise<MessageBus>; logs: string[] }> {
  const token = `towner${Math.random().toString(36).slice(2, 8)}`;
  const server = await startSecuredNats({
    subjectPrefix: `${token}.`,
    nameSuffix: `_${token.toUpperCase()}`,
  });
  nats = server;
  const logs: string[] = [];
  const busAs = async (identity: string) => {
    const bus = await connectBus({
      ...server.busOptions(identity),
      logger: createLogger({
        service: identity,
        level: 'info',
        destination: { write: (line: string) => void logs.push(line) },
      }),
    });
    buses.push(bus);
    return bus;
  };
  return { busAs, logs };
}

function change(version: number): TaskChange {
  const task = taskFixture({ version, state: version === 1 ? 'submitted' : 'working' });
  return {
    task,
    change: {
      event: version === 1 ? 'create' : 'start',
      from: version === 1 ? null : 'submitted',
      to: task.state,
      actor: 'manager-agent',
      reason: null,
      occurredAt: task.updatedAt,
    },
  };
}

const MESH_CHANGES = 'mesh.v1.*';

describe('consume with waitForOwner, before the owner created the stream', () => {
  it('without it, a reader of another service’s stream that does not exist yet is refused at start', async () => {
    const { busAs } = await securedBus();
    const sessions = await busAs('sessions');
    await expect(
      sessions.consume(TaskUpdated, 'sessions--refused', async () => undefined, { subject: MESH_CHANGES }),
    ).rejects.toBeInstanceOf(BusPermissionError);
  });

  it('resolves at once without trying to create it, and consumes what the owner publishes once it has', async () => {
    const { busAs, logs } = await securedBus();
    const sessions = await busAs('sessions');
    const refused = violations(sessions.nc);
    const got: number[] = [];
    handles.push(
      await sessions.consume(TaskUpdated, 'sessions--follow', async (c) => void got.push(c.task.version), {
        subject: MESH_CHANGES,
        waitForOwner: true,
      }),
    );
    expect(logs.some((line) => line.includes('"consumer waits for its stream"'))).toBe(true);

    const router = await busAs('mesh-router');
    await router.ensureStream('mesh');
    await router.publish(TaskUpdated, change(1), { eventId: 'owner-wait-1' });
    await router.publish(TaskUpdated, change(2), { eventId: 'owner-wait-2' });
    await expectEventually(() => expect(got).toEqual([1, 2]), { timeoutMs: 15_000 });
    expect(logs.some((line) => line.includes('"consumer started once its stream existed"'))).toBe(true);
    await sessions.nc.flush();
    expect(refused.map((v) => v.subject)).toEqual([]);
  }, 30_000);

  it('deliverPolicy new starts where the wait began: a change stored before the durable existed is not skipped', async () => {
    const { busAs, logs } = await securedBus();
    const gateway = await busAs('gateway');
    const got: number[] = [];
    // Looks only every 3 s: the change below is stored after MESH exists and before the durable does.
    handles.push(
      await gateway.consume(TaskUpdated, 'gateway-owner-wait', async (c) => void got.push(c.task.version), {
        deliverPolicy: 'new',
        waitForOwner: { lookEveryMs: 3_000 },
      }),
    );
    const router = await busAs('mesh-router');
    await router.ensureStream('mesh');
    await router.publish(TaskUpdated, change(1), { eventId: 'owner-wait-new-1' });
    expect(logs.some((line) => line.includes('"consumer started once its stream existed"'))).toBe(false);
    await expectEventually(() => expect(got).toEqual([1]), { timeoutMs: 15_000 });
  }, 30_000);

  it('stops while waiting: stop resolves and no durable is created afterwards', async () => {
    const { busAs } = await securedBus();
    const sessions = await busAs('sessions');
    const handle = await sessions.consume(TaskUpdated, 'sessions--stopped', async () => undefined, {
      subject: MESH_CHANGES,
      waitForOwner: true,
    });
    await handle.stop();
    const router = await busAs('mesh-router');
    await router.ensureStream('mesh');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const info = await router.jsm.streams.info(router.streamName('mesh'));
    expect(info.state.consumer_count).toBe(0);
  }, 30_000);
});
