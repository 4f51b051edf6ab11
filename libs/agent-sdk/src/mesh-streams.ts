import { AppError, MESH_EVENT_SUBJECTS, MESH_INBOX_STREAM, MESH_INBOX_SUBJECTS } from '@orgmesh/contracts';
import { BusPermissionError, lookUntil, type MessageBus } from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';

/** The router makes the dead-letter stream at its start too, and a consumer needs it. */
const DEAD_LETTERS = 'dlq.>';

/**
 * The mesh's streams an agent reads (its inboxes' work queue, MESH, the DLQ), before it consumes: an
 * agent may come up before the mesh router. On an open bus it makes them itself (idempotent, the
 * router's settings). With an NKey (`secured`: a bus with per-identity permissions, ADR 0011) they
 * are the router's alone, and an attempt would be refused and logged as an error by both ends: the
 * agent only looks, and waits until the router has made them (the bus's lookUntil schedule) rather
 * than failing its start (an orchestrator would restart it in a loop until the router is up).
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
  const present = async () => {
    try {
      for (const subject of [MESH_INBOX_SUBJECTS[0], MESH_EVENT_SUBJECTS[0], DEAD_LETTERS])
        if ((await bus.streamFor(subject)) === undefined) return false;
      return true;
    } catch (error) {
      // Stopping closes the bus under the lookup.
      if (stopping()) return false;
      throw error;
    }
  };
  if (await present()) return;
  logger.info({ agentId }, 'agent waits for the mesh router to create its streams');
  const began = Date.now();
  if (!(await lookUntil(present, { over: stopping })))
    throw new AppError('unavailable', 'the agent stopped before the mesh router created its streams');
  logger.info({ agentId, waitedMs: Date.now() - began }, 'agent found the mesh router’s streams');
}
