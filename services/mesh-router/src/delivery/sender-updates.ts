import { TaskUpdated, agentUpdatesSubject } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';

const decoder = new TextDecoder();

/**
 * Repeats each published task-updated event on its sender's own subject (`mesh.v1.updates.<agentId>`,
 * core NATS), so an agent's credential can hear the changes of the tasks it sent without being
 * allowed `mesh.v1.task-updated`, which carries every task change of the org (issue 18, ADR 0011).
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
    const target = senderSubject(data);
    if (!target) return;
    try {
      this.bus.nc.publish(this.bus.subject(target), data);
      this.repeated++;
    } catch (error) {
      // The connection is closing or closed: the sender's SDK falls back to polling the task.
      this.logger.debug({ err: error }, 'repeating a task update to its sender failed');
    }
  }
}

/** The updates subject of the event's sender, if the event names one that can be a subject token. */
function senderSubject(data: Uint8Array | string): string | undefined {
  let agentId: unknown;
  try {
    const change = JSON.parse(typeof data === 'string' ? data : decoder.decode(data)) as {
      task?: { from?: { agentId?: unknown } };
    };
    agentId = change.task?.from?.agentId;
  } catch {
    return undefined;
  }
  return typeof agentId === 'string' ? agentUpdatesSubject(agentId) : undefined;
}
