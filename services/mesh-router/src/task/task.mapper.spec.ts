import { describe, expect, it } from '@jest/globals';
import { Task } from '@orgmesh/contracts';
import type { TaskRow } from './task.entity.js';
import { fromTask, toTask } from './task.mapper.js';

const base: TaskRow = {
  id: '0b6c1f3e-2a4d-4e7b-9c1a-5d2f8e3b7a10',
  kind: 'task',
  from_agent_id: 'finance-agent',
  from_role: 'finance',
  to_role: 'legal',
  to_agent_id: null,
  assignee_agent_id: null,
  assignee_role: null,
  type: 'contract-review',
  subject: null,
  input: { amount: 1200, lines: ['a', 'b'] },
  details: null,
  message: null,
  priority: 'normal',
  state: 'submitted',
  reason: null,
  context_id: 'ctx-1',
  deadline: new Date('2026-11-21T10:00:00.000Z'),
  escalate_at: null,
  result: null,
  decision: null,
  escalated_to: null,
  escalated_at: null,
  version: 1,
  created_at: new Date('2026-11-21T09:00:00.000Z'),
  updated_at: new Date('2026-11-21T09:00:00.000Z'),
};

describe('fromTask', () => {
  it.each<[string, TaskRow]>([
    ['a new task', base],
    [
      'a completed task taken by an agent',
      {
        ...base,
        state: 'completed',
        assignee_agent_id: 'legal-agent',
        assignee_role: 'legal',
        to_agent_id: 'legal-agent',
        result: { ok: true },
        version: 3,
        updated_at: new Date('2026-11-21T09:00:01.250Z'),
      },
    ],
    [
      'an escalated, decided approval',
      {
        ...base,
        kind: 'approval',
        type: null,
        subject: 'Q3 budget',
        input: null,
        details: { amount: 50_000 },
        state: 'completed',
        escalate_at: new Date('2026-11-21T09:30:00.000Z'),
        escalated_at: new Date('2026-11-21T09:30:00.100Z'),
        escalated_to: { role: 'cfo', userId: 'u-7', name: 'Dana Cfo' },
        decision: {
          decision: 'approve',
          comment: 'ok',
          decidedBy: { agentId: 'cfo-agent', role: 'cfo' },
          decidedAt: '2026-11-21T09:31:00.000Z',
        },
        version: 5,
      },
    ],
  ])('is the inverse of toTask for %s (what an event carries is the whole row)', (_, row) => {
    const task = toTask(row);
    // The event travels as JSON: what another replica learns went through the wire format.
    const wired = Task.parse(JSON.parse(JSON.stringify(task)));
    expect(fromTask(wired)).toEqual(row);
  });

  it('refuses a task whose timestamps do not parse', () => {
    expect(() => fromTask({ ...toTask(base), deadline: 'not a date' })).toThrow(/invalid timestamp/);
  });
});
