import type { MeshAgent } from '@orgmesh/agent-sdk';
import type { Logger } from '@orgmesh/telemetry';

export interface RemotePresenceOptions {
  agent: MeshAgent;
  /** The remote agent's card URL: what is asked, without credentials, as the registry asks it. */
  cardUrl: string;
  fetchImpl: typeof fetch;
  /** How often the card is asked for. */
  intervalMs: number;
  /** How long one ask may take before the agent counts as not answering. */
  timeoutMs: number;
  logger: Logger;
}

/**
 * The remote agent's presence on the mesh (ADR 0021). The bridge heartbeats for it only while its
 * card answers: a cheap GET of the card every `intervalMs`, bounded by `timeoutMs`. When the card
 * stops answering, heartbeats stop (the registry marks the agent offline after its presence timeout,
 * as for a local agent that stopped) and the bridge stops taking deliveries, so the agent's tasks
 * wait in the inboxes — for another agent of the role, its return, or their deadline — as they do
 * for a local agent that is not running. When it answers again, the bridge takes deliveries and
 * heartbeats at once.
 */
export class RemotePresence {
  private answering = true;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: RemotePresenceOptions) {}

  /** Whether the card answered at the last ask (true at start: the bridge verified it then). */
  get online(): boolean {
    return this.answering;
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Asks once and applies the outcome (the loop calls it every `intervalMs`). */
  async check(): Promise<boolean> {
    const { agent, logger } = this.options;
    const answered = await this.ask();
    if (this.stopped || answered === this.answering) return answered;
    this.answering = answered;
    const log = { agentId: agent.agentId, cardUrl: this.options.cardUrl };
    if (answered) {
      logger.info(log, 'remote A2A agent answers again: taking deliveries');
      await agent.resumeInboxes();
      await agent.heartbeat().catch(() => undefined);
    } else {
      logger.warn(log, 'remote A2A agent does not answer: heartbeats and deliveries stop');
      // Not awaited: handlers in flight finish first (their remote calls fail and are retried later).
      void agent.pauseInboxes().catch(() => undefined);
    }
    return answered;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.check()
        .catch((error: unknown) =>
          this.options.logger.warn({ err: error }, 'remote A2A presence check failed'),
        )
        .finally(() => this.schedule());
    }, this.options.intervalMs);
    this.timer.unref();
  }

  private async ask(): Promise<boolean> {
    try {
      const response = await this.options.fetchImpl(this.options.cardUrl, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await response.body?.cancel().catch(() => undefined);
      return response.ok;
    } catch {
      return false;
    }
  }
}
