import { describe, expect, it } from '@jest/globals';
import {
  applyHeartbeat,
  presenceAt,
  reevaluateDrift,
  sweepPresence,
  type PresenceState,
} from './presence.js';

const GOOD = `sha256:${'a'.repeat(64)}`;
const EDITED = `sha256:${'b'.repeat(64)}`;
const OTHER = `sha256:${'c'.repeat(64)}`;
const TIMEOUT = 30_000;
const empty: PresenceState = new Map();

describe('presence', () => {
  it('brings an agent online with its first heartbeat, once', () => {
    const first = applyHeartbeat(empty, { agentId: 'finance-agent', configHash: GOOD, at: 1_000 }, [GOOD]);
    expect(first.events).toEqual([{ type: 'agent-online', agentId: 'finance-agent', at: 1_000 }]);
    const second = applyHeartbeat(first.state, { agentId: 'finance-agent', configHash: GOOD, at: 11_000 }, [
      GOOD,
    ]);
    expect(second.events).toEqual([]);
    expect(second.state.get('finance-agent')).toMatchObject({
      online: true,
      lastSeenAt: 11_000,
      drift: false,
    });
  });

  it('takes an agent offline when its heartbeats stop, and online again when they resume', () => {
    let { state } = applyHeartbeat(empty, { agentId: 'legal-agent', configHash: GOOD, at: 0 }, [GOOD]);
    ({ state } = applyHeartbeat(state, { agentId: 'legal-agent', configHash: GOOD, at: 10_000 }, [GOOD]));
    expect(sweepPresence(state, 40_000, TIMEOUT).events).toEqual([]);
    const swept = sweepPresence(state, 40_001, TIMEOUT);
    expect(swept.events).toEqual([
      { type: 'agent-offline', agentId: 'legal-agent', lastSeenAt: 10_000, at: 40_001 },
    ]);
    expect(swept.state.get('legal-agent')?.online).toBe(false);
    expect(sweepPresence(swept.state, 90_000, TIMEOUT).events).toEqual([]);
    const back = applyHeartbeat(swept.state, { agentId: 'legal-agent', configHash: GOOD, at: 95_000 }, [
      GOOD,
    ]);
    expect(back.events).toEqual([{ type: 'agent-online', agentId: 'legal-agent', at: 95_000 }]);
  });

  it('shows an agent offline as soon as its heartbeat is stale, before a sweep runs', () => {
    const { state } = applyHeartbeat(empty, { agentId: 'manager-agent', configHash: GOOD, at: 0 }, [GOOD]);
    expect(presenceAt(state.get('manager-agent'), TIMEOUT, TIMEOUT).online).toBe(true);
    expect(presenceAt(state.get('manager-agent'), TIMEOUT + 1, TIMEOUT)).toEqual({
      online: false,
      lastSeenAt: 0,
      reportedConfigHash: GOOD,
      drift: false,
    });
    expect(presenceAt(undefined, 0, TIMEOUT)).toEqual({
      online: false,
      lastSeenAt: null,
      reportedConfigHash: null,
      drift: false,
    });
  });

  it('ignores a heartbeat older than the last one seen', () => {
    const { state } = applyHeartbeat(empty, { agentId: 'hr-agent', configHash: GOOD, at: 5_000 }, [GOOD]);
    const late = applyHeartbeat(state, { agentId: 'hr-agent', configHash: EDITED, at: 4_000 }, [GOOD]);
    expect(late.events).toEqual([]);
    expect(late.state).toBe(state);
  });
});

describe('drift', () => {
  it('is detected when the reported hash differs from the rendered one, and cleared when it matches again', () => {
    let { state } = applyHeartbeat(empty, { agentId: 'finance-agent', configHash: GOOD, at: 0 }, [GOOD]);
    const drifted = applyHeartbeat(state, { agentId: 'finance-agent', configHash: EDITED, at: 1_000 }, [
      GOOD,
    ]);
    expect(drifted.events).toEqual([
      {
        type: 'drift-detected',
        agentId: 'finance-agent',
        reportedConfigHash: EDITED,
        expectedConfigHashes: [GOOD],
        at: 1_000,
      },
    ]);
    expect(presenceAt(drifted.state.get('finance-agent'), 1_000, TIMEOUT).drift).toBe(true);
    // Reported once per drifted config, not on every heartbeat…
    ({ state } = applyHeartbeat(drifted.state, { agentId: 'finance-agent', configHash: EDITED, at: 2_000 }, [
      GOOD,
    ]));
    expect(
      applyHeartbeat(drifted.state, { agentId: 'finance-agent', configHash: EDITED, at: 2_000 }, [GOOD])
        .events,
    ).toEqual([]);
    // …but again when the agent moves to yet another wrong config.
    expect(
      applyHeartbeat(state, { agentId: 'finance-agent', configHash: OTHER, at: 3_000 }, [GOOD]).events,
    ).toMatchObject([{ type: 'drift-detected', reportedConfigHash: OTHER }]);
    const cleared = applyHeartbeat(state, { agentId: 'finance-agent', configHash: GOOD, at: 3_000 }, [GOOD]);
    expect(cleared.events).toEqual([
      { type: 'drift-cleared', agentId: 'finance-agent', configHash: GOOD, at: 3_000 },
    ]);
    expect(cleared.state.get('finance-agent')?.drift).toBe(false);
  });

  it('accepts the hash of any format rendered for the agent', () => {
    const { events } = applyHeartbeat(empty, { agentId: 'contracts-agent', configHash: OTHER, at: 0 }, [
      GOOD,
      OTHER,
    ]);
    expect(events.map((e) => e.type)).toEqual(['agent-online']);
  });

  it('is detected on a first heartbeat with a wrong config', () => {
    const { events } = applyHeartbeat(empty, { agentId: 'qa-agent', configHash: EDITED, at: 0 }, [GOOD]);
    expect(events.map((e) => e.type)).toEqual(['agent-online', 'drift-detected']);
  });

  it('follows a new registry version: a changed declaration drifts running agents, a revert clears them', () => {
    let { state } = applyHeartbeat(empty, { agentId: 'legal-agent', configHash: GOOD, at: 0 }, [GOOD]);
    ({ state } = applyHeartbeat(state, { agentId: 'sales-agent', configHash: OTHER, at: 0 }, [OTHER]));
    const v2 = reevaluateDrift(
      state,
      new Map([
        ['legal-agent', [EDITED]],
        ['sales-agent', [OTHER]],
      ]),
      5_000,
    );
    expect(v2.events).toEqual([
      {
        type: 'drift-detected',
        agentId: 'legal-agent',
        reportedConfigHash: GOOD,
        expectedConfigHashes: [EDITED],
        at: 5_000,
      },
    ]);
    const v3 = reevaluateDrift(
      v2.state,
      new Map([
        ['legal-agent', [GOOD]],
        ['sales-agent', [OTHER]],
      ]),
      6_000,
    );
    expect(v3.events).toEqual([
      { type: 'drift-cleared', agentId: 'legal-agent', configHash: GOOD, at: 6_000 },
    ]);
  });

  it('forgets agents a new version removes', () => {
    const { state } = applyHeartbeat(empty, { agentId: 'data-agent', configHash: GOOD, at: 0 }, [GOOD]);
    expect(reevaluateDrift(state, new Map(), 1).state.has('data-agent')).toBe(false);
  });
});
