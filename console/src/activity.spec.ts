import { describe, expect, it } from '@jest/globals';
import { NO_FILTERS, describeEvent, sessionRows, taskRows, transitioned } from './pages/activity-rows';
import type { EventEnvelope, SessionRow, Task } from './types';

const session = (id: string, over: Partial<SessionRow> = {}): SessionRow => ({
  id,
  agentId: `agent-${id}`,
  role: 'finance',
  contextId: `ctx-${id}`,
  status: 'active',
  createdAt: '2026-12-01T10:00:00.000Z',
  updatedAt: '2026-12-01T10:00:00.000Z',
  ...over,
});

const task = (id: string, over: Partial<Task> = {}): Task => ({
  id,
  kind: 'task',
  from: { role: 'sales', agentId: 'quoter' },
  to: { role: 'finance' },
  assignee: null,
  type: 'quote.check',
  subject: null,
  input: {},
  details: null,
  message: null,
  priority: 'normal',
  state: 'submitted',
  reason: null,
  contextId: `ctx-${id}`,
  deadline: '2026-12-02T10:00:00.000Z',
  escalateAt: null,
  result: null,
  decision: null,
  escalatedTo: null,
  version: 1,
  createdAt: '2026-12-01T10:00:00.000Z',
  updatedAt: '2026-12-01T10:00:00.000Z',
  ...over,
});

const envelope = (subject: string, payload: unknown): EventEnvelope => ({
  subject,
  sequence: 7,
  eventId: null,
  publishedAt: '2026-12-01T12:00:00.000Z',
  payload,
});

describe('Sessions & tasks page logic', () => {
  it('lays the stream’s sessions over the loaded ones, newest first, and filters on agent, role, state and time', () => {
    const loaded = [session('a'), session('b', { updatedAt: '2026-12-01T11:00:00.000Z' })];
    const live = new Map([['a', session('a', { status: 'paused', updatedAt: '2026-12-01T12:00:00.000Z' })]]);
    expect(sessionRows(loaded, live, NO_FILTERS).map((s) => [s.id, s.status])).toEqual([
      ['a', 'paused'],
      ['b', 'active'],
    ]);
    expect(sessionRows(loaded, live, { ...NO_FILTERS, agent: ' AGENT-B ' }).map((s) => s.id)).toEqual(['b']);
    expect(sessionRows(loaded, live, { ...NO_FILTERS, state: 'paused' }).map((s) => s.id)).toEqual(['a']);
    expect(sessionRows(loaded, live, { ...NO_FILTERS, role: 'sales' })).toEqual([]);
    expect(
      sessionRows(loaded, live, { ...NO_FILTERS, since: '2026-12-01T11:30:00.000Z' }).map((s) => s.id),
    ).toEqual(['a']);
  });

  it('builds a session from a transition event over what was known of it, or from the event alone', () => {
    const event = envelope('sessions.v1.transitioned', {
      sessionId: 'a',
      to: 'completed',
      occurredAt: '2026-12-01T12:30:00.000Z',
    });
    const p = event.payload as Record<string, unknown>;
    expect(transitioned('a', p, event, session('a'))).toEqual(
      session('a', { status: 'completed', updatedAt: '2026-12-01T12:30:00.000Z' }),
    );
    expect(transitioned('a', p, event, undefined)).toMatchObject({
      agentId: '',
      status: 'completed',
      createdAt: event.publishedAt,
    });
  });

  it('replaces loaded tasks with the stream’s copies and matches an agent on either end', () => {
    const loaded = [task('t1'), task('t2', { to: { role: 'finance', agentId: 'checker' } })];
    const live = new Map([['t1', task('t1', { state: 'completed', updatedAt: '2026-12-01T13:00:00.000Z' })]]);
    expect(taskRows(loaded, live, NO_FILTERS).map((t) => [t.id, t.state])).toEqual([
      ['t1', 'completed'],
      ['t2', 'submitted'],
    ]);
    expect(taskRows(loaded, live, { ...NO_FILTERS, agent: 'checker' }).map((t) => t.id)).toEqual(['t2']);
    expect(taskRows(loaded, live, { ...NO_FILTERS, role: 'sales' })).toHaveLength(2);
  });

  it('writes one timeline line per event, with its workflow', () => {
    expect(
      describeEvent(
        envelope('sessions.v1.transitioned', {
          contextId: 'c1',
          agentId: 'quoter',
          from: 'active',
          to: 'paused',
        }),
      ),
    ).toMatchObject({ context: 'c1', text: 'session quoter: active → paused', agent: 'quoter' });
    const decided = task('t3', {
      kind: 'approval',
      subject: 'Discount 30%',
      to: { role: 'finance', userId: 'u-1' },
      state: 'completed',
      decision: { decision: 'approve', comment: null, decidedAt: '2026-12-01T12:00:00.000Z' },
    });
    expect(describeEvent(envelope('mesh.v1.task-updated', { task: decided }))).toMatchObject({
      context: 'ctx-t3',
      text: 'approval "Discount 30%" quoter → u-1: completed (approve)',
    });
    expect(describeEvent(envelope('registry.v1.loaded', {}))).toMatchObject({
      context: '',
      text: 'registry.v1.loaded',
    });
  });
});
