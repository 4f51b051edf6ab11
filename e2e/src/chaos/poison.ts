import { randomUUID } from 'node:crypto';
import { connectBus, DLQ_HEADERS, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';

/**
 * Poison messages (issue #21, "Bad input and faults"): a message that fails validation is
 * dead-lettered with its reason — never retried forever, never silently dropped — and its consumer
 * goes on. The run publishes two, after the NATS restart: bytes that are not JSON into a role inbox
 * (consumed by the SDK agents) and a task-updated event that is JSON but not the contract (consumed
 * by the sessions service). The load around them must still end with nothing lost.
 */
export interface Poison {
  name: string;
  subject: string;
  eventId: string;
  expectedReason: string;
}

export interface PoisonOutcome extends Poison {
  /** The dead letters found for it: one per consumer that refused it. */
  deadLetters: Array<{ consumer: string; reason: string; error: string }>;
}

const DEAD_LETTER_STREAM = 'DLQ';

/**
 * Right after a NATS fault JetStream may not answer yet (a cluster electing its meta leader): retry
 * for a minute. The bus is secured: the run connects as the mesh router (its seed file), the one
 * identity that may publish into role inboxes and task events and that reads the dead letters — a
 * faulty router replica is where such messages would come from.
 */
async function connect(natsUrl: string, routerSeedFile: string): Promise<MessageBus> {
  const logger = createLogger({ service: 'chaos-poison', level: 'error' });
  // The connection's name is the identity's: the bus grants its reply inboxes by that name.
  return untilAnswered(() =>
    connectBus({ url: natsUrl, name: 'mesh-router', logger, nkeySeedFile: routerSeedFile }),
  );
}

/**
 * A NATS call retried every second for a minute: right after a fault the server may refuse a
 * connection, and after a node kill its streams elect new leaders while a publish times out. A
 * publish retried under the same `msgID` is stored once (the stream's duplicate window).
 */
async function untilAnswered<T>(call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

export async function injectPoison(natsUrl: string, routerSeedFile: string): Promise<Poison[]> {
  const poisons: Poison[] = [
    {
      name: 'not JSON, in the engineering role inbox',
      subject: 'mesh.v1.inbox.engineering',
      eventId: randomUUID(),
      expectedReason: 'invalid_json',
    },
    {
      name: 'a task-updated event that is not the contract',
      subject: 'mesh.v1.task-updated',
      eventId: randomUUID(),
      expectedReason: 'validation_failed',
    },
  ];
  const bus = await connect(natsUrl, routerSeedFile);
  try {
    const bodies = ['{"task": {"id": ', JSON.stringify({ task: { id: 'not-a-task' }, change: 42 })];
    for (const [i, poison] of poisons.entries())
      await untilAnswered(() =>
        bus.js.publish(poison.subject, new TextEncoder().encode(bodies[i] ?? ''), { msgID: poison.eventId }),
      );
  } finally {
    await bus.close();
  }
  return poisons;
}

/**
 * Reads the dead-letter stream from its start with an ordered consumer (the router may read it, not
 * fetch single messages) and matches its letters to the poisons by event id.
 */
export async function findDeadLetters(
  natsUrl: string,
  routerSeedFile: string,
  poisons: readonly Poison[],
): Promise<PoisonOutcome[]> {
  const outcomes: PoisonOutcome[] = poisons.map((p) => ({ ...p, deadLetters: [] }));
  if (!poisons.length) return outcomes;
  const bus = await connect(natsUrl, routerSeedFile);
  try {
    const info = await bus.jsm.streams.info(DEAD_LETTER_STREAM).catch(() => undefined);
    if (!info) return outcomes;
    const letters = await bus.js.consumers.get(DEAD_LETTER_STREAM, { name_prefix: 'chaos_dlq_reader' });
    for (let read = 0; read < info.state.messages;) {
      const batch = await letters.fetch({
        max_messages: Math.min(256, info.state.messages - read),
        expires: 5_000,
      });
      const before = read;
      for await (const msg of batch) {
        read++;
        const outcome = outcomes.find((o) => o.eventId === msg.headers?.get('orgmesh-event-id'));
        outcome?.deadLetters.push({
          consumer: msg.headers?.get(DLQ_HEADERS.consumer) ?? '',
          reason: msg.headers?.get(DLQ_HEADERS.reason) ?? '',
          error: msg.headers?.get(DLQ_HEADERS.error) ?? '',
        });
      }
      if (read === before) break;
    }
  } finally {
    await bus.close();
  }
  return outcomes;
}
