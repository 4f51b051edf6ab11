import { AppError, MESH_EVENT_SUBJECTS, MESH_INBOX_STREAM, MESH_INBOX_SUBJECTS } from '@orgmesh/contracts';
import { BusPermissionError, type MessageBus } from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';

const FIRST_LOOK_MS = 100;
const DEAD_LETTERS = 'dlq.>';
const LAST_LOOK_MS = 2_000;

/**
 * The mesh's streams an agent reads (its inboxes' work queue, MESH, the DLQ), before it consumes: an
 * agent may come up before the mesh router. On an open bus it makes them itself (idempotent, the
 * router's settings). With an NKey (`secured`: a bus with per-identity permissions, ADR 0011) they
 * are the router's alone, and an attempt would be refused and logged as an error by both ends: the
 * agent only looks, and waits until the router has made them, looking after 100 ms, doubling to every
 * 2 s, rather than failing its start (an orchestrator would restart it in a loop until the router is up).
 *
 * @throws AppError `unavailable` when `stopping` turns true before the streams exist.
 */
export async function meshStreamsReady(
  bus: MessageBus,
  logger: Logger,
  agent: { agentId: string; secured: boolean },
  stopping: () => boolean,
): Promise<void> {
  const { agentId } = agent;
  if (!agent.secured) {
    try {
      await bus.ensureStream('mesh', { subjects: [...MESH_EVENT_SUBJECTS] });
      await bus.ensureWorkQueue(MESH_INBOX_STREAM, [...MESH_INBOX_SUBJECTS]);
      return;
    } catch (error) {
      // Permissions the agent was not told about: wait as on a secured bus.
      if (!(error instanceof BusPermissionError)) throw error;
    }
  }
  // The dead-letter stream too: the router makes it at its start, and a consumer needs it.
  const present = async () => {
    for (const subject of [MESH_INBOX_SUBJECTS[0], MESH_EVENT_SUBJECTS[0], DEAD_LETTERS])
      if ((await bus.streamFor(subject)) === undefined) return false;
    return true;
  };
  if (await present()) return;
  logger.info({ agentId }, 'agent waits for the mesh router to create its streams');
  const began = Date.now();
  const stopped = () =>
    new AppError('unavailable', 'the agent stopped before the mesh router created its streams');
  for (let delay = FIRST_LOOK_MS; ; delay = Math.min(delay * 2, LAST_LOOK_MS)) {
    if (stopping()) throw stopped();
    let found: boolean;
    try {
      found = await present();
    } catch (error) {
      // Stopping closes the bus under the lookup.
      if (stopping()) throw stopped();
      throw error;
    }
    if (found) break;
    await new Promise((resolve) => setTimeout(resolve, delay).unref());
  }
  logger.info({ agentId, waitedMs: Date.now() - began }, 'agent found the mesh router’s streams');
}
