import { describe, expect, it } from '@jest/globals';
import type { ChaosLoad } from './load.js';
import { invalidHistory, renderTable, summarize } from './report.js';

describe('chaos report: the checks that decide the verdict', () => {
  it('accepts a session history that is a path through the FSM from pending to the status', () => {
    expect(invalidHistory('pending', [])).toBeNull();
    expect(
      invalidHistory('completed', [
        { from: 'pending', to: 'active', event: 'activate' },
        { from: 'active', to: 'paused', event: 'pause' },
        { from: 'paused', to: 'active', event: 'resume' },
        { from: 'active', to: 'completed', event: 'complete' },
      ]),
    ).toBeNull();
    expect(invalidHistory('failed', [{ from: 'pending', to: 'failed', event: 'fail' }])).toBeNull();
  });

  it('names what is wrong with a history that is not: a gap, an illegal move, a leaving terminal state, a status it does not reach', () => {
    expect(invalidHistory('active', [{ from: 'active', to: 'paused', event: 'pause' }])).toMatch(/starts in active/);
    expect(invalidHistory('completed', [{ from: 'pending', to: 'completed', event: 'complete' }])).toMatch(
      /complete does not move pending/,
    );
    expect(
      invalidHistory('active', [
        { from: 'pending', to: 'active', event: 'activate' },
        { from: 'active', to: 'completed', event: 'complete' },
        { from: 'completed', to: 'active', event: 'resume' },
      ]),
    ).toMatch(/resume does not move completed/);
    // The same transition recorded twice (a replayed event applied again) breaks the path too.
    expect(
      invalidHistory('active', [
        { from: 'pending', to: 'active', event: 'activate' },
        { from: 'pending', to: 'active', event: 'activate' },
      ]),
    ).toMatch(/starts in pending/);
    expect(invalidHistory('paused', [{ from: 'pending', to: 'active', event: 'activate' }])).toMatch(/ends in active/);
  });

  it('counts acknowledged-but-open tasks as lost, two handler runs of one task as a duplicate, and fails the verdict on either', () => {
    const load = {
      acknowledged: new Map([
        ['a', { id: 'a', kind: 'task', via: 'sdk', key: 'k-a', at: 0, attempts: 1, failures: [] }],
        ['b', { id: 'b', kind: 'approval', via: 'rest', key: 'k-b', at: 0, attempts: 1, failures: [] }],
        ['c', { id: 'c', kind: 'notification', via: 'rest', key: 'k-c', at: 0, attempts: 1, failures: [] }],
      ]),
      handled: new Map([
        ['a', ['x']],
        ['b', ['y', 'y']],
      ]),
      notAcknowledged: [],
      refused: [],
      redelivered: 0,
    } as unknown as ChaosLoad;
    const states = new Map([
      ['a', 'completed'],
      ['b', 'completed'],
      ['c', 'submitted'],
    ]);
    const faults = [{ name: 'kill -9 x', at: 0, recoveryMs: 1_000, workMs: 400, processMs: 1_000, probe: '', underLoad: true }];
    const none = { total: 3, open: 0, createdTwice: [] };
    const SECURED = { anonymousRefused: true };
    const result = summarize(load, states, { sessions: 2, invalid: [] }, none, faults, [], 10_000, SECURED);
    expect(result.acknowledged).toBe(3);
    expect(result.terminal).toBe(2);
    expect(result.lost.map((l) => [l.id, l.state])).toEqual([['c', 'submitted']]);
    expect(result.duplicates).toEqual([{ item: 'b', handledBy: ['y', 'y'] }]);
    expect(result.ok).toBe(false);
    expect(renderTable(result)).toMatch(/LOST \(acknowledged, never terminal\)\s+\| 1 /);

    // A clean run (every task terminal, handled once), with one thing changed per case.
    type Args = Parameters<typeof summarize>;
    const variant = (change: { tasks?: Args[3]; faults?: Args[4]; poison?: Args[5]; nats?: Args[7] } = {}) =>
      summarize(
        { ...load, handled: new Map([['a', ['x']]]) } as unknown as ChaosLoad,
        new Map([...states, ['c', 'completed']]),
        { sessions: 2, invalid: [] },
        change.tasks ?? none,
        change.faults ?? faults,
        change.poison ?? [],
        10_000,
        change.nats ?? SECURED,
      );
    expect(variant().ok).toBe(true);
    const twice = variant({ tasks: { total: 4, open: 0, createdTwice: [{ item: 'k-a', ids: ['a', 'a2'] }] } });
    expect(twice.ok).toBe(false);
    expect(renderTable(twice)).toMatch(/DUPLICATE creates \(one request stored as two tasks\)\s+\| 1 /);
    const unrecovered = variant({ faults: [{ ...faults[0]!, recoveryMs: null, workMs: null }] });
    expect(unrecovered.ok).toBe(false);
    expect(renderTable(unrecovered)).toMatch(/NOT RECOVERED/);
    const poison = { name: 'bad', subject: 's', eventId: 'e', expectedReason: 'invalid_json' };
    const kept = variant({ poison: [{ ...poison, deadLetters: [] }] });
    expect(kept.ok).toBe(false);
    expect(renderTable(kept)).toMatch(/NOT DEAD-LETTERED/);
    const wrongReason = variant({
      poison: [{ ...poison, deadLetters: [{ consumer: 'x', reason: 'max_deliver_exceeded', error: '' }] }],
    });
    expect(wrongReason.ok).toBe(false);
    const open = variant({ nats: { anonymousRefused: false } });
    expect(open.ok).toBe(false);
    expect(renderTable(open)).toMatch(/NATS secured \(every server refuses a client without an NKey\)\s+\| NO /);
  });
});
