import { AgentHeartbeat, AppError, type RpcResponse } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';
import type { MeshAgentOptions } from './agent-options.js';

/**
 * The agent's heartbeats to the registry: its config hash (and format), so the registry sees it
 * online and can tell drift. Sent every `heartbeatIntervalMs`, shortened to a third of the
 * registry's offline timeout; a registry that is down is retried, and said so once.
 */
export class Heartbeats {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private stopped = false;
  /** When the registry last answered. */
  lastAt: Date | undefined;
  /** Whether the registry's last answer reported drift. */
  drift = false;

  constructor(
    private readonly bus: MessageBus,
    private readonly agentId: string,
    private readonly options: Pick<MeshAgentOptions, 'configHash' | 'configFormat' | 'heartbeatIntervalMs'>,
    private readonly authorization: () => Promise<string>,
    private readonly logger: Logger,
  ) {}

  /** Sends one heartbeat now; resolves to the registry's answer, or undefined without a config hash. */
  async send(): Promise<RpcResponse<typeof AgentHeartbeat> | undefined> {
    const configHash =
      typeof this.options.configHash === 'function'
        ? await this.options.configHash()
        : this.options.configHash;
    if (!configHash) return undefined;
    const answer = await this.bus.request(
      AgentHeartbeat,
      {
        agentId: this.agentId,
        configHash,
        ...(this.options.configFormat ? { format: this.options.configFormat } : {}),
      },
      { authorization: await this.authorization(), timeoutMs: 5_000 },
    );
    this.lastAt = new Date();
    if (answer.drift && !this.drift)
      this.logger.warn({ agentId: this.agentId, configHash }, 'registry reports config drift');
    this.drift = answer.drift;
    return answer;
  }

  /** Sends a heartbeat, then schedules the next, until `stop()`. */
  async loop(): Promise<void> {
    const interval = this.options.heartbeatIntervalMs ?? 15_000;
    if (interval <= 0 || !this.options.configHash || this.stopped) return;
    let next = interval;
    try {
      const answer = await this.send();
      if (answer) next = Math.max(1_000, Math.min(interval, Math.floor(answer.timeoutMs / 3)));
      if (this.failing) this.logger.info({ agentId: this.agentId }, 'heartbeats reach the registry again');
      this.failing = false;
    } catch (error) {
      // The registry may be down or not up yet: keep trying, say so once.
      if (!this.failing)
        this.logger.warn(
          { agentId: this.agentId, code: error instanceof AppError ? error.code : 'internal' },
          'heartbeat failed',
        );
      this.failing = true;
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.loop(), next);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
