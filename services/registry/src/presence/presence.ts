/**
 * Presence and drift, as pure state transitions: the service stores the state and publishes the
 * events these functions return (agent-online, agent-offline, drift-detected, drift-cleared).
 * Times are epoch milliseconds.
 */

export interface Heartbeat {
  readonly agentId: string;
  readonly configHash: string;
  readonly at: number;
}

export interface AgentPresenceState {
  readonly agentId: string;
  readonly online: boolean;
  readonly lastSeenAt: number;
  readonly reportedConfigHash: string;
  readonly drift: boolean;
}

export type PresenceState = ReadonlyMap<string, AgentPresenceState>;

export type PresenceEvent =
  | { readonly type: 'agent-online'; readonly agentId: string; readonly at: number }
  | {
      readonly type: 'agent-offline';
      readonly agentId: string;
      readonly lastSeenAt: number;
      readonly at: number;
    }
  | {
      readonly type: 'drift-detected';
      readonly agentId: string;
      readonly reportedConfigHash: string;
      readonly expectedConfigHashes: readonly string[];
      readonly at: number;
    }
  | {
      readonly type: 'drift-cleared';
      readonly agentId: string;
      readonly configHash: string;
      readonly at: number;
    };

export interface PresenceTransition {
  readonly state: PresenceState;
  readonly events: readonly PresenceEvent[];
}

/** Drift: the reported hash matches none of the configs rendered for the agent's current declaration. */
export function isDrift(reportedConfigHash: string, expectedConfigHashes: readonly string[]): boolean {
  return !expectedConfigHashes.includes(reportedConfigHash);
}

/**
 * Records a heartbeat. An agent that was offline (or never seen) comes online; drift is re-derived
 * from the reported hash and raises an event only when it changes. A heartbeat older than the last one
 * seen (reordered delivery) changes nothing.
 */
export function applyHeartbeat(
  state: PresenceState,
  heartbeat: Heartbeat,
  expectedConfigHashes: readonly string[],
): PresenceTransition {
  const previous = state.get(heartbeat.agentId);
  if (previous && heartbeat.at < previous.lastSeenAt) return { state, events: [] };
  const drift = isDrift(heartbeat.configHash, expectedConfigHashes);
  const events: PresenceEvent[] = [];
  if (!previous?.online) events.push({ type: 'agent-online', agentId: heartbeat.agentId, at: heartbeat.at });
  // A drifted agent that switches to yet another config is reported again: it is a different drift.
  const sameDriftReported =
    (previous?.drift ?? false) && previous?.reportedConfigHash === heartbeat.configHash;
  events.push(
    ...driftEvents(
      sameDriftReported,
      previous?.drift ?? false,
      drift,
      heartbeat.agentId,
      heartbeat.configHash,
      expectedConfigHashes,
      heartbeat.at,
    ),
  );
  const next = new Map(state);
  next.set(heartbeat.agentId, {
    agentId: heartbeat.agentId,
    online: true,
    lastSeenAt: heartbeat.at,
    reportedConfigHash: heartbeat.configHash,
    drift,
  });
  return { state: next, events };
}

/** Marks offline every online agent silent for longer than `timeoutMs` at `now`. */
export function sweepPresence(state: PresenceState, now: number, timeoutMs: number): PresenceTransition {
  let next: Map<string, AgentPresenceState> | undefined;
  const events: PresenceEvent[] = [];
  for (const entry of state.values()) {
    if (entry.online && now - entry.lastSeenAt > timeoutMs) {
      next ??= new Map(state);
      next.set(entry.agentId, { ...entry, online: false });
      events.push({ type: 'agent-offline', agentId: entry.agentId, lastSeenAt: entry.lastSeenAt, at: now });
    }
  }
  return { state: next ?? state, events };
}

/**
 * After a new registry version: re-derives drift of every agent seen so far against its new expected
 * hashes (a changed declaration drifts a running agent; a reverted one clears). Agents the new version
 * no longer declares are dropped.
 */
export function reevaluateDrift(
  state: PresenceState,
  expectedByAgent: ReadonlyMap<string, readonly string[]>,
  now: number,
): PresenceTransition {
  const next = new Map<string, AgentPresenceState>();
  const events: PresenceEvent[] = [];
  for (const entry of state.values()) {
    const expected = expectedByAgent.get(entry.agentId);
    if (!expected) continue;
    const drift = isDrift(entry.reportedConfigHash, expected);
    events.push(
      ...driftEvents(entry.drift, entry.drift, drift, entry.agentId, entry.reportedConfigHash, expected, now),
    );
    next.set(entry.agentId, drift === entry.drift ? entry : { ...entry, drift });
  }
  return { state: next, events };
}

/** The presence an API shows: online only while heartbeats are fresh, even before the next sweep runs. */
export function presenceAt(
  entry: AgentPresenceState | undefined,
  now: number,
  timeoutMs: number,
): { online: boolean; lastSeenAt: number | null; reportedConfigHash: string | null; drift: boolean } {
  if (!entry) return { online: false, lastSeenAt: null, reportedConfigHash: null, drift: false };
  return {
    online: entry.online && now - entry.lastSeenAt <= timeoutMs,
    lastSeenAt: entry.lastSeenAt,
    reportedConfigHash: entry.reportedConfigHash,
    drift: entry.drift,
  };
}

function driftEvents(
  sameDriftReported: boolean,
  wasDrift: boolean,
  drift: boolean,
  agentId: string,
  configHash: string,
  expected: readonly string[],
  at: number,
): PresenceEvent[] {
  if (drift && !sameDriftReported)
    return [
      {
        type: 'drift-detected',
        agentId,
        reportedConfigHash: configHash,
        expectedConfigHashes: [...expected],
        at,
      },
    ];
  if (!drift && wasDrift) return [{ type: 'drift-cleared', agentId, configHash, at }];
  return [];
}
