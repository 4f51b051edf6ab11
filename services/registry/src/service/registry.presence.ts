import {
  AgentOffline,
  AgentOnline,
  DriftCleared,
  DriftDetected,
  type AgentHeartbeat,
  type AgentPresence,
  type ConfigFormat,
  type RpcResponse,
} from '@orgmesh/contracts';
import { findAgent, type RegistryModel } from '../model/registry.model.js';
import {
  applyHeartbeat,
  presenceAt,
  reevaluateDrift,
  sweepPresence,
  type AgentPresenceState,
  type PresenceEvent,
} from '../presence/presence.js';
import {
  toPresenceState,
  type RegistryRepository,
  type RegistryTransaction,
} from '../persistence/registry.repository.js';
import type { PresenceRow } from '../persistence/registry.entity.js';
import { agentNotFound } from './registry.errors.js';
import { expectedHashesOf } from './registry.snapshot.js';
import type { Clock, RegistryServiceOptions, RegistryVersions } from './registry.versions.js';

/** How many stale agents one presence sweep handles (the next tick takes the rest). */
const SWEEP_BATCH = 500;

/** Presence and drift: heartbeats, the offline sweep, and drift re-judged when the declaration changes. */
export class RegistryPresence {
  constructor(
    private readonly repository: RegistryRepository,
    private readonly versions: RegistryVersions,
    private readonly options: RegistryServiceOptions,
    private readonly clock: Clock,
  ) {}

  /**
   * Re-judges drift of every agent heard from against `model`'s rendered configs (a changed declaration
   * drifts running agents; a revert clears them) and forgets agents the model no longer declares.
   * Runs under the load lock; returns how many drift events it raised.
   */
  async rejudgeDrift(tx: RegistryTransaction, model: RegistryModel, now: Date): Promise<number> {
    const rows = await tx.lockAllPresence();
    if (rows.length === 0) return 0;
    const expected = new Map(
      [...expectedHashesOf(model, this.options.endpoints)].map(([id, hashes]) => [
        id,
        Object.values(hashes).filter((h): h is string => typeof h === 'string'),
      ]),
    );
    const state = new Map<string, AgentPresenceState>();
    for (const row of rows) {
      const entry = toPresenceState(row);
      if (entry) state.set(row.agent_id, entry);
    }
    const transition = reevaluateDrift(state, expected, now.getTime());
    for (const [agentId, entry] of transition.state) {
      if (entry !== state.get(agentId)) await tx.savePresence(entry);
    }
    await tx.deletePresence(rows.filter((r) => !expected.has(r.agent_id)).map((r) => r.agent_id));
    await enqueuePresence(tx, transition.events);
    return transition.events.length;
  }

  /**
   * Records a heartbeat: online, and drift judged against the configs rendered for the agent's current
   * declaration (only `format`'s when given). Runs under the shared load lock so a concurrent load
   * cannot judge drift against a version this heartbeat has not seen.
   */
  async heartbeat(input: {
    agentId: string;
    configHash: string;
    format?: ConfigFormat;
  }): Promise<RpcResponse<typeof AgentHeartbeat>> {
    const now = this.clock.now();
    return this.repository.withSharedLoadLock(async (tx) => {
      const snapshot = await this.versions.snapshotAt(await tx.currentVersionNumber());
      if (!findAgent(snapshot.model, input.agentId)) throw agentNotFound(input.agentId);
      const expected = snapshot.expectedHashList(input.agentId, input.format);
      const row = await tx.lockPresence(input.agentId);
      const previous = toPresenceState(row);
      const state = new Map(previous ? [[input.agentId, previous]] : []);
      const transition = applyHeartbeat(
        state,
        { agentId: input.agentId, configHash: input.configHash, at: now.getTime() },
        expected,
      );
      const entry = transition.state.get(input.agentId);
      if (!entry) throw new Error('heartbeat left no presence entry');
      if (transition.state !== state) await tx.savePresence(entry, input.format ?? null);
      await enqueuePresence(tx, transition.events);
      return {
        online: true as const,
        drift: entry.drift,
        timeoutMs: this.options.presenceTimeoutMs,
        receivedAt: now.toISOString(),
      };
    });
  }

  /** Marks offline the online agents silent longer than the timeout; undefined when another replica ran it. */
  async sweepPresence(): Promise<number | undefined> {
    const { ran, result } = await this.repository.lockedJob('presence', async (tx) => {
      const now = this.clock.now();
      const timeout = this.options.presenceTimeoutMs;
      const rows = await tx.lockStalePresence(new Date(now.getTime() - timeout), SWEEP_BATCH);
      const state = new Map<string, AgentPresenceState>();
      for (const row of rows) {
        const entry = toPresenceState(row);
        if (entry) state.set(row.agent_id, entry);
      }
      const transition = sweepPresence(state, now.getTime(), timeout);
      for (const event of transition.events) {
        const entry = transition.state.get(event.agentId);
        if (entry) await tx.savePresence(entry);
      }
      await enqueuePresence(tx, transition.events);
      return transition.events.length;
    });
    return ran ? result : undefined;
  }

  presenceOf(row: PresenceRow | undefined): AgentPresence {
    const shown = presenceAt(
      toPresenceState(row),
      this.clock.now().getTime(),
      this.options.presenceTimeoutMs,
    );
    return {
      online: shown.online,
      lastSeenAt: shown.lastSeenAt === null ? null : new Date(shown.lastSeenAt).toISOString(),
      reportedConfigHash: shown.reportedConfigHash,
      drift: shown.drift,
    };
  }
}

async function enqueuePresence(tx: RegistryTransaction, events: readonly PresenceEvent[]): Promise<void> {
  for (const event of events) {
    const about = { agentId: event.agentId, occurredAt: new Date(event.at).toISOString() };
    switch (event.type) {
      case 'agent-online':
        await tx.enqueue(AgentOnline, about);
        break;
      case 'agent-offline':
        await tx.enqueue(AgentOffline, { ...about, lastSeenAt: new Date(event.lastSeenAt).toISOString() });
        break;
      case 'drift-detected':
        await tx.enqueue(DriftDetected, {
          ...about,
          reportedConfigHash: event.reportedConfigHash,
          expectedConfigHashes: [...event.expectedConfigHashes],
        });
        break;
      case 'drift-cleared':
        await tx.enqueue(DriftCleared, { ...about, configHash: event.configHash });
        break;
    }
  }
}
