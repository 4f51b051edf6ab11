import { describe, expect, it } from '@jest/globals';
import type { Session } from '@orgmesh/contracts';
import { formatDuration, formatTable } from './format.js';
import { isOrphaned, nextEventToward } from './runner-sessions.js';
import { renderSessionsTable, uptimeOf } from './sessions-table.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
function session(over: Partial<Session>): Session {
  return {
    id: '11111111-1111-4111-8111-111111111111',
    agentId: 'finance-agent',
    role: 'finance',
    contextId: 'c',
    status: 'active',
    version: 1,
    createdAt: new Date(T0).toISOString(),
    updatedAt: new Date(T0).toISOString(),
    lastTransitionAt: new Date(T0 + 5_000).toISOString(),
    pausedAt: null,
    completedAt: null,
    failedAt: null,
    expiredAt: null,
    metadata: {},
    ...over,
  };
}

describe('formatting', () => {
  it('formats durations for people', () => {
    expect([0, 45_000, 723_000, 7_500_000, 273_600_000].map(formatDuration)).toEqual([
      '0s',
      '45s',
      '12m 03s',
      '2h 05m',
      '3d 4h',
    ]);
  });

  it('aligns columns', () => {
    expect(formatTable(['A', 'BB'], [['xxx', 'y']])).toBe('A    BB\nxxx  y');
  });
});

describe('orgmesh sessions table', () => {
  it('shows agent, session, state, duration, last activity and source', () => {
    const now = T0 + 65_000;
    const runner = session({ metadata: { source: 'orgmesh-runner', pid: 4242 } });
    const done = session({
      id: '22222222-2222-4222-8222-222222222222',
      agentId: 'legal-agent',
      status: 'completed',
      completedAt: new Date(T0 + 30_000).toISOString(),
      lastTransitionAt: new Date(T0 + 30_000).toISOString(),
      metadata: { source: 'mesh' },
    });
    expect(renderSessionsTable([runner, done], now).split('\n')).toEqual([
      'AGENT          SESSION                               STATE      DURATION  LAST ACTIVITY  SOURCE',
      'finance-agent  11111111-1111-4111-8111-111111111111  active     1m 05s    1m 00s ago     runner pid 4242',
      'legal-agent    22222222-2222-4222-8222-222222222222  completed  30s       35s ago        mesh',
    ]);
    expect(uptimeOf(done, now + 3_600_000)).toBe('30s');
    expect(renderSessionsTable([], now)).toBe('no sessions');
  });

  it('gives an ended session its real duration, from start to end, even under a second', () => {
    const ended = (ms: number, status: 'completed' | 'failed' | 'expired') =>
      session({
        status,
        [`${status}At`]: new Date(T0 + ms).toISOString(),
        lastTransitionAt: new Date(T0 + ms).toISOString(),
      });
    const later = T0 + 86_400_000;
    expect(uptimeOf(ended(420, 'completed'), later)).toBe('420ms');
    expect(uptimeOf(ended(3_250, 'failed'), later)).toBe('3.2s');
    expect(uptimeOf(ended(95_000, 'expired'), later)).toBe('1m 35s');
    // Open: time so far, in whole seconds.
    expect(uptimeOf(session({ status: 'active' }), T0 + 420)).toBe('0s');
  });
});

describe('runner sessions', () => {
  it('reaches completed through activate or resume, and failed directly', () => {
    expect(nextEventToward('pending', 'completed')).toBe('activate');
    expect(nextEventToward('paused', 'completed')).toBe('resume');
    expect(nextEventToward('active', 'completed')).toBe('complete');
    expect(nextEventToward('paused', 'failed')).toBe('fail');
    expect(nextEventToward('expired', 'failed')).toBeNull();
  });

  it('treats a runner session of this host whose pid is gone as orphaned', () => {
    const runner = session({ metadata: { source: 'orgmesh-runner', host: 'here', pid: 7 } });
    expect(isOrphaned(runner, 'here', () => false)).toBe(true);
    expect(isOrphaned(runner, 'here', () => true)).toBe(false);
    expect(isOrphaned(runner, 'elsewhere', () => false)).toBe(false);
    expect(
      isOrphaned(session({ metadata: { source: 'mesh', host: 'here', pid: 7 } }), 'here', () => false),
    ).toBe(false);
  });
});
