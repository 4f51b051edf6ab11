import { describe, expect, it } from '@jest/globals';
import {
  AppError,
  type Session,
  type SessionEventName,
  type Task,
  type TaskChange,
} from '@orgmesh/contracts';
import { createLogger } from '@orgmesh/telemetry';
import { outcomeOf } from '../session/session.fsm.js';
import type { SessionService } from '../session/session.service.js';
import { MeshFollower } from './mesh-follow.consumer.js';
import { approvalTask, manager, legal } from './mesh-follow.fixtures.js';

/** The part of SessionService the follower uses, in memory, on the real FSM table. */
class FakeSessions {
  readonly sessions: Session[] = [];
  readonly transitions: Array<{ agentId: string; event: SessionEventName; causationId?: string }> = [];
  /** Fails the n-th applyEvent call once (a crash in the middle of an event). */
  failOnCall: number | undefined;
  private calls = 0;

  async create(input: { agentId: string; role: string; contextId?: string }) {
    const open = this.sessions.find(
      (s) =>
        s.agentId === input.agentId &&
        s.contextId === input.contextId &&
        ['pending', 'active', 'paused'].includes(s.status),
    );
    if (open) return { session: open, created: false };
    const now = new Date().toISOString();
    const session: Session = {
      id: `00000000-0000-4000-8000-${String(this.sessions.length).padStart(12, '0')}`,
      agentId: input.agentId,
      role: input.role,
      contextId: input.contextId ?? 'ctx',
      status: 'pending',
      version: 0,
      createdAt: now,
      updatedAt: now,
      lastTransitionAt: now,
      pausedAt: null,
      completedAt: null,
      failedAt: null,
      expiredAt: null,
      metadata: {},
    };
    this.sessions.push(session);
    return { session, created: true };
  }

  async list(filter: { agentId?: string; contextId?: string; limit: number }) {
    const items = this.sessions
      .filter((s) => s.agentId === filter.agentId && s.contextId === filter.contextId)
      .reverse()
      .slice(0, filter.limit);
    return { items, nextCursor: null };
  }

  async get(id: string) {
    return this.sessions.find((s) => s.id === id)!;
  }

  async applyEvent(command: { id: string; event: SessionEventName; causationId?: string }) {
    if (++this.calls === this.failOnCall) throw new AppError('unavailable', 'database unavailable');
    const session = this.sessions.find((s) => s.id === command.id)!;
    const outcome = outcomeOf(session.status, command.event);
    if (outcome.kind === 'illegal') throw new AppError('session_illegal_transition', 'illegal');
    if (outcome.kind === 'move') {
      session.status = outcome.to;
      session.version++;
      this.transitions.push({
        agentId: session.agentId,
        event: command.event,
        causationId: command.causationId,
      });
    }
    return { session, applied: outcome.kind === 'move' };
  }

  eventsOf(agentId: string): SessionEventName[] {
    return this.transitions.filter((t) => t.agentId === agentId).map((t) => t.event);
  }
}

const baseTask = approvalTask;
const at = baseTask.createdAt;
function change(
  task: Partial<Task>,
  event: TaskChange['change']['event'],
  from: Task['state'] | null,
  to: Task['state'],
  actor: string,
): TaskChange {
  return {
    task: { ...baseTask, ...task, state: to },
    change: { event, from, to, actor, reason: null, occurredAt: at },
  };
}

// The scenario of ARCHITECTURE §4 as the mesh reports it, in stream order.
const approvalId = baseTask.id;
const reviewId = '8b1d2f4a-2e3c-4d6e-9f0a-1b2c3d4e5f60';
const SCENARIO: TaskChange[] = [
  change({}, 'create', null, 'submitted', 'finance-agent'),
  change({ assignee: manager }, 'start', 'submitted', 'working', 'manager-agent'),
  change(
    { id: reviewId, kind: 'task', from: manager, to: { role: 'legal', agentId: null } },
    'create',
    null,
    'submitted',
    'manager-agent',
  ),
  change(
    { id: reviewId, kind: 'task', from: manager, assignee: legal },
    'start',
    'submitted',
    'working',
    'legal-agent',
  ),
  change(
    { id: reviewId, kind: 'task', from: manager, assignee: legal },
    'complete',
    'working',
    'completed',
    'legal-agent',
  ),
  change(
    {
      id: approvalId,
      assignee: manager,
      decision: { decision: 'approve', comment: null, decidedBy: manager, decidedAt: at },
    },
    'decide',
    'working',
    'completed',
    'manager-agent',
  ),
];

const logger = createLogger({ service: 'mesh-follow-test', level: 'silent' });

describe('MeshFollower', () => {
  it('turns the Finance → Manager → Legal scenario into the expected session transitions', async () => {
    const sessions = new FakeSessions();
    const follower = new MeshFollower(sessions as unknown as SessionService, logger);
    for (const [i, c] of SCENARIO.entries()) await follower.apply(c, `event-${i}`);
    expect(sessions.eventsOf('finance-agent')).toEqual(['activate', 'pause', 'resume']);
    expect(sessions.eventsOf('manager-agent')).toEqual(['activate', 'complete']);
    expect(sessions.eventsOf('legal-agent')).toEqual(['activate', 'complete']);
    expect(sessions.transitions.find((t) => t.event === 'resume')?.causationId).toBe('event-5');
  });

  it('changes nothing when an event is delivered again', async () => {
    const sessions = new FakeSessions();
    const follower = new MeshFollower(sessions as unknown as SessionService, logger);
    for (const [i, c] of SCENARIO.entries()) {
      await follower.apply(c, `event-${i}`);
      await follower.apply(c, `event-${i}`);
    }
    expect(sessions.transitions).toHaveLength(7);
    expect(sessions.sessions).toHaveLength(3);
  });

  it('finishes an event that failed half-way when it is redelivered, without repeating a transition', async () => {
    const sessions = new FakeSessions();
    sessions.failOnCall = 2; // activate succeeds, pause fails: the consumer will nak and get it again
    const follower = new MeshFollower(sessions as unknown as SessionService, logger);
    const first = SCENARIO[0]!;
    await expect(follower.apply(first, 'event-0')).rejects.toThrow('database unavailable');
    await follower.apply(first, 'event-0');
    expect(sessions.eventsOf('finance-agent')).toEqual(['activate', 'pause']);
  });
});
