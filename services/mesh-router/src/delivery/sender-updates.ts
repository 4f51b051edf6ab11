import { TaskUpdated, agentUpdatesSubject } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';

const decoder = new TextDecoder();

/**
 * Repeats each published task-updated event on its sender's own subject (`mesh.v1.updates.<agentId>`,
 * core NATS), so an agent's credential can hear the changes of the tasks it sent without being
 * allowed `mesh.v1.task-updated`, which carries every task change of the org (issue 18, ADR 0011).
 * The task's assignee (or the agent it is addressed to, before one took it) gets the same copy on
 * its own subject: it may read the task anyway, and a bridge to a remote A2A agent must hear a
 * cancel at once to cancel the remote task (ADR 0021), not at its next report.
 *
 * Called by whichever path publishes the event, on whichever replica: the eager publisher as it
 * sends it (the change is committed; waiting for the ack would add a JetStream round trip to every
 * change a sender waits for), the outbox relay once JetStream acknowledged it — so a change
 * committed just before a crash still reaches its sender when the relay publishes it. Not stored,
 * and repeated again when the relay republishes an event (a failed eager publish, a lost mark): the
 * SDK treats these as wake-ups and reads the task (GetTask) to know where it stands, with a slow
 * poll as a safety net.
 */
export class SenderUpdates {
  /** Copies published (tests and diagnostics). */
  repeated = 0;

  constructor(
    private readonly bus: MessageBus,
    private readonly logger: Logger,
  ) {}

  /** `subject` without the namespace prefix, `data` the event's JSON as published. */
  repeat(subject: string, data: Uint8Array | string): void {
    if (subject !== TaskUpdated.subject) return;
    for (const target of updateSubjects(data)) {
      try {
        this.bus.nc.publish(this.bus.subject(target), data);
        this.repeated++;
      } catch (error) {
        // The connection is closing or closed: the agent's SDK falls back to polling the task.
        this.logger.debug({ err: error }, 'repeating a task update to an agent failed');
        return;
      }
    }
  }
}

/** The updates subjects of the event's sender and assignee (or addressed agent), those that can be subject tokens. */
function updateSubjects(data: Uint8Array | string): string[] {
  let task: {
    from?: { agentId?: unknown };
    assignee?: { agentId?: unknown } | null;
    to?: { agentId?: unknown };
  };
  try {
    const change = JSON.parse(typeof data === 'string' ? data : decoder.decode(data)) as {
      task?: typeof task;
    };
    if (!change.task) return [];
    task = change.task;
  } catch {
    return [];
  }
  const ids = new Set<string>();
  for (const id of [task.from?.agentId, task.assignee?.agentId ?? task.to?.agentId])
    if (typeof id === 'string') ids.add(id);
  return [...ids].flatMap((id) => {
    const subject = agentUpdatesSubject(id);
    return subject ? [subject] : [];
  });
}
