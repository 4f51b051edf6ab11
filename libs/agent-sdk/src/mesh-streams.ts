import { AppError, MESH_EVENT_SUBJECTS, MESH_INBOX_STREAM, MESH_INBOX_SUBJECTS } from '@orgmesh/contracts';
import { BusPermissionError, type MessageBus } from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';

const FIRST_LOOK_MS = 100;
const DEAD_LETTERS = 'dlq.>';
const LAST_LOOK_MS = 2_000;

/**
 * The mesh's streams an agent reads (its inboxes' work queue, MESH, the DLQ), before it consumes: an agent
 * may come up before the mesh router. On an open bus it makes them itself (idempotent, the router's
 * settings). On a secured bus they are the router's to create and the agent's attempt is refused:
 * it then waits until the router has made them, looking after 100 ms, doubling to every 2 s, rather
 * than failing its start (an orchestrator would restart it in a loop until the router is up).
 *
 * @throws AppError `unavailable` when `stopping` turns true before the streams exist.
 */
export async function meshStreamsReady(
  bus: MessageBus,
  logger: Logger,
  agentId: string,
  stopping: () => boolean,
): Promise<void> {
  try {
    await bus.ensureStream('mesh', { subjects: [...MESH_EVENT_SUBJECTS] });
    await bus.ensureWorkQueue(MESH_INBOX_STREAM, [...MESH_INBOX_SUBJECTS]);
    return;
  } catch (error) {
    if (!(error instanceof BusPermissionError)) throw error;
  }
  logger.info({ agentId }, 'agent waits for the mesh router to create its streams');
  const began = Date.now();
  // The dead-letter stream too: the router makes it at its start, and a consumer needs it.
  const present = async () => {
    for (const subject of [MESH_INBOX_SUBJECTS[0], MESH_EVENT_SUBJECTS[0], DEAD_LETTERS])
      if ((await bus.streamFor(subject)) === undefined) return false;
    return true;
  };
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
